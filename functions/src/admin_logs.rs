//! `GET /api/admin/logs?analytics=1h|24h|7d`: error counts and rates over time,
//! `performance` (requests, p50/p95/p99 per route, cold starts), `slowQueries[]` and the
//! outbox backlog, for staff. `analytics` defaults to `24h`.

use lambda_http::{Body, Request, Response};
use shared::{
    analytics::{analytics, Period},
    auth::{caller, Permission},
    http::ok,
    input::query_param,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Route, Statement};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Operations,
    "?analytics=1h|24h|7d: errors over time, latency per route, slow queries, outbox backlog (staff)",
    &[Route::get("/api/admin/logs").requires(Permission::ViewSystemHealth)],
)
    .policies(&[
        Policy::MonitoringRead,
        Policy::Allow(&[
            Statement::allow(
                &["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"],
                &[Cfn::Text("*")],
            )
                .because("Metric reads cannot be scoped to a namespace by resource."),
        ]),
    ]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(admin_logs(state, req))
}

async fn admin_logs(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    caller(&req)?.require(Permission::ViewSystemHealth)?;
    let period: Period = query_param(&req, "analytics")
        .unwrap_or("24h")
        .parse()
        .map_err(|e| ApiError::validation(vec![e]))?;
    ok(&analytics(state, period).await?)
}
