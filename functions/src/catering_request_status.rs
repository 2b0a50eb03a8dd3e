//! `PATCH /api/catering-requests/{orderId}/status`: moves an order through its statuses.
//!
//! Staff make any legal transition; a client or vendor may only cancel their own order,
//! and only before it is underway (409 after). The change goes through the one
//! status-change function, so it is checked against the graph and recorded in the
//! history with its note (the cancellation reason when it cancels); an illegal one is a
//! 409 naming both statuses.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::{parse_json, path_uuid},
    orders::{actions, edit::StatusUpdate},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "moves an order through its statuses",
    &[Route::patch("/api/catering-requests/{orderId}/status")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(update_status(state, req))
}

async fn update_status(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::ViewOrders)?;
    let order_id = path_uuid(&req, "orderId")?;
    let body: StatusUpdate = parse_json(&req)?;
    ok(&actions::move_status(state, &caller, order_id, &body).await?)
}
