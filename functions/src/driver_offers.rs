//! `GET /api/driver/offers`: the calling driver's pending auto-dispatch offer, if any
//! (`{offers: [...]}`, at most one): the order's pickup and drop with their times, the
//! minutes it adds to the driver's drive, the pay it would record and when the offer
//! lapses. The driver app polls it.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    autodispatch::views::pending_for_driver,
    http::ok,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "the driver's pending offer",
    &[Route::get("/api/driver/offers").requires(Permission::Drive)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(driver_offers(state, req))
}

async fn driver_offers(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::Drive)?;
    let client = state.db.get().await?;
    ok(&serde_json::json!({ "offers": pending_for_driver(&*client, &caller).await? }))
}
