//! `POST /api/dispatch/plans/{planId}/apply` → `{plan, assigned, drivers}`: a solved
//! plan's orders assigned to their routes' drivers through the one dispatch path (status
//! change, history, partner outbox, delivery), each delivery given its planned times and
//! place in the route, all in one transaction. 409 `plan_stale` naming what changed since
//! the plan was made; 409 for a plan not solved, failed or applied already. Staff who
//! dispatch only.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::path_uuid,
    planning::apply::apply,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "applying a solved dispatch plan through the dispatch path",
    &[Route::post("/api/dispatch/plans/{planId}/apply").requires(Permission::DispatchDrivers)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(dispatch_plan_apply(state, req))
}

async fn dispatch_plan_apply(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::DispatchDrivers)?;
    let plan_id = path_uuid(&req, "planId")?;
    ok(&apply(state, &caller, plan_id).await?)
}
