//! `GET /api/health/errors?window=24h`: what went wrong lately, for staff; `POST
//! {fingerprints}` marks error groups resolved (a resolved group seen again opens as a
//! regression) and answers `{resolved, unknown}`.
//!
//! `window` is `1h` to `720h` or `1d` to `30d` (default `24h`). Answers `{windowHours,
//! summary {total, bySeverity, byCategory, groups}, hourly[], topGroups[], recent[]}`
//! from the error store in DynamoDB. It answers while the database is down: it runs
//! without the authorizer (which reads the account) and accepts a staff token of a live
//! session, as `/api/health` does.

use lambda_http::{http::Method, Body, Request, Response};
use serde_json::json;
use shared::{
    auth::Permission,
    http::ok,
    input::{parse_json, query_param},
    monitoring::{
        errors::{resolve_groups, ResolveGroups},
        overview::{overview, Window},
    },
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    sign_in::session_caller_of,
    ApiError, ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api).warm_signing_key();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Operations,
    "error summary, hourly counts, top groups and recent errors; resolve groups (staff)",
    &[
        Route::get("/api/health/errors").without_authorizer(),
        Route::post("/api/health/errors").without_authorizer(),
    ],
)
.policies(&[Policy::MonitoringRead, Policy::SigningKeyRead]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(health_errors(state, req))
}

async fn health_errors(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = session_caller_of(state, &req).await?;
    caller.require(Permission::ViewSystemHealth)?;
    if req.method() == Method::POST {
        caller.require(Permission::ResolveAlerts)?;
        let fingerprints = parse_json::<ResolveGroups>(&req)?.checked()?;
        let resolved = resolve_groups(state, &fingerprints, caller.user_id)
            .await
            .map_err(|e| {
                ApiError::service_unavailable("the error store is unavailable").with_source(e)
            })?;
        return ok(&json!({ "resolved": resolved, "unknown": fingerprints.len() - resolved }));
    }
    let window: Window = query_param(&req, "window")
        .unwrap_or("24h")
        .parse()
        .map_err(|e| ApiError::validation(vec![e]))?;
    ok(&overview(state, window).await?)
}
