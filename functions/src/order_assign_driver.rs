//! `POST /api/orders/assignDriver {orderId, driverId?, orderType?}` → `{order, dispatch}`:
//! staff assign (or reassign) a driver; the first assignment moves the driver status to
//! `ASSIGNED` (history, partner outbox), a reassignment writes a history note. Without
//! `driverId` it assigns nothing and answers the nearest available drivers to the pickup
//! as `suggestions`. 409 for a closed order, an inactive driver or one at capacity.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    drivers::dispatch::{assign, AssignRequest},
    http::ok,
    input::parse_json,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api).idempotent();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "staff assign or reassign a driver",
    &[Route::post("/api/orders/assignDriver").requires(Permission::DispatchDrivers)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(assign_driver(state, req))
}

async fn assign_driver(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let request: AssignRequest = parse_json(&req)?;
    ok(&assign(state, &caller, &request).await?)
}
