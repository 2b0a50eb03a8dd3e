//! `POST /api/orders/unassignDriver {orderId, reason}` → `{order, driverId, offer}`: staff
//! take the driver off an order not yet picked up; the order goes back to what it was
//! before its driver, with the reason in its history, and auto-dispatch (when on for the
//! order type) offers it to another driver at once (`offer`). 409 when the order has no
//! driver, is picked up already, or is closed.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    autodispatch::offers::offer_again,
    drivers::dispatch::{unassign, UnassignRequest},
    http::ok,
    input::parse_json,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api).idempotent();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "staff take a driver off an order before the pickup",
    &[Route::post("/api/orders/unassignDriver").requires(Permission::DispatchDrivers)],
)
.policies(&[Policy::OfferExpirySend])
.environment(&[("OFFER_EXPIRY_QUEUE_URL", Cfn::Ref("OfferExpiryQueue"))]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(unassign_driver(state, req))
}

async fn unassign_driver(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let request: UnassignRequest = parse_json(&req)?;
    let unassigned = unassign(state, &caller, &request).await?;
    // The order is dispatchable again: an order whose driver was taken off is one of the
    // moments auto-dispatch offers.
    let offer = offer_again(state, unassigned.order.id).await;
    ok(&serde_json::json!({
        "order": unassigned.order,
        "driverId": unassigned.driver_id,
        "offer": offer,
    }))
}
