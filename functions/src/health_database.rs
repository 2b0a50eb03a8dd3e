//! `GET /api/health/database`: the database's size, cache hit ratio, connections and
//! pool, slowest statements (`pg_stat_statements`), index use (and unused indexes), table
//! statistics and queries running longer than `?longRunningMs=` (default 5000), for
//! staff.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    health::database::{long_running_ms, report},
    input::query_param,
    http::ok,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Operations,
    "size, cache hits, connections, slow statements, indexes, tables (staff)",
    &[Route::get("/api/health/database").requires(Permission::ViewSystemHealth)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(health_database(state, req))
}

async fn health_database(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    caller(&req)?.require(Permission::ViewSystemHealth)?;
    let threshold = long_running_ms(query_param(&req, "longRunningMs"))?;
    ok(&report(state, threshold).await?)
}
