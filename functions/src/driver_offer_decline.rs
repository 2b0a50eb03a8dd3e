//! `POST /api/driver/offers/{offerId}/decline {reason?}`: the driver passes on the
//! offered order (200 `{offer}`), which is offered to the next driver at once. Another
//! driver's offer is 404; one answered or withdrawn is 409 `offer_closed`.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    autodispatch::answers::{decline, Decline},
    http::ok,
    input::{parse_json, path_uuid},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "declining an offered order",
    &[Route::post("/api/driver/offers/{offerId}/decline").requires(Permission::Drive)],
)
    // The order goes to the next driver at once, with its offer's expiry.
    .policies(&[Policy::OfferExpirySend])
    .environment(&[("OFFER_EXPIRY_QUEUE_URL", Cfn::Ref("OfferExpiryQueue"))]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(offer_decline(state, req))
}

async fn offer_decline(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::Drive)?;
    let offer_id = path_uuid(&req, "offerId")?;
    let body: Decline = match req.body().is_empty() {
        true => Decline::default(),
        false => parse_json(&req)?,
    };
    ok(&serde_json::json!({ "offer": decline(state, &caller, offer_id, &body).await? }))
}
