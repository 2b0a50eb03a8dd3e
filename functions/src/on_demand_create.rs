//! `POST /api/on-demand/create`: an on-demand (courier) delivery. `Idempotency-Key` makes a
//! retried create return the first order. With auto-dispatch on for on-demand orders, the
//! new order is offered to its best driver before the answer.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    autodispatch::offers,
    http::created,
    idempotency,
    input::parse_json,
    orders::intake::{create_order, DetailsFields, OnDemandFields, OrderBasics},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api).idempotent();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "an on-demand delivery",
    &[Route::post("/api/on-demand/create").requires(Permission::CreateOrders)],
)
    .policies(&[Policy::MapsKeyRead, Policy::OfferExpirySend])
    .environment(&[("OFFER_EXPIRY_QUEUE_URL", Cfn::Ref("OfferExpiryQueue"))]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(create(state, req))
}

async fn create(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::CreateOrders)?;
    let basics: OrderBasics = parse_json(&req)?;
    let fields: OnDemandFields = parse_json(&req)?;
    let details = DetailsFields::OnDemand(fields);
    let key = idempotency::key(&req)?;
    let order = create_order(state, &caller, &basics, &details, key).await?;
    offers::offer_now(state, order.id).await;
    created(&serde_json::json!({ "order": order }))
}
