//! `POST /api/driver/offers/{offerId}/accept`: the driver takes the offered order,
//! assigned through the one dispatch path (status, history, partner outbox, delivery) in
//! the same transaction as the offer's change: 200 `{offer, dispatch}`. Another driver's
//! offer is 404; one answered, withdrawn or lapsed is 409 (`offer_closed`,
//! `offer_expired`), and an accept racing the expiry has one winner.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    autodispatch::answers::accept,
    http::ok,
    input::path_uuid,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "accepting an offered order",
    &[Route::post("/api/driver/offers/{offerId}/accept").requires(Permission::Drive)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(offer_accept(state, req))
}

async fn offer_accept(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::Drive)?;
    let offer_id = path_uuid(&req, "offerId")?;
    ok(&accept(state, &caller, offer_id).await?)
}
