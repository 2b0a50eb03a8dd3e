//! `GET /api/dispatch/plans/{planId}` → `{plan}`: where a plan stands (queued, solving
//! with the search's generation and best cost so far, solved, failed), and once solved its
//! routes (each driver's stops in order with planned arrival, departure and load), the
//! orders left out with the reason, totals and the solver's statistics. Staff who
//! dispatch only.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::path_uuid,
    planning::plans::read,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "following a dispatch plan and reading its routes",
    &[Route::get("/api/dispatch/plans/{planId}").requires(Permission::DispatchDrivers)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(dispatch_plan_by_id(state, req))
}

async fn dispatch_plan_by_id(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::DispatchDrivers)?;
    let plan_id = path_uuid(&req, "planId")?;
    let client = state.db.get().await?;
    ok(&serde_json::json!({ "plan": read(&*client, &caller, plan_id).await? }))
}
