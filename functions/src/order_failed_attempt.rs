//! `POST /api/orders/{order_number}/failed-attempt {reason, photoUploadId, note?, location?}`
//! → `{order, attempt, offer}`: the order's assigned driver, with the food on board, could
//! not hand it over (`reason`: `NO_ONE_THERE`, `ADDRESS_WRONG`, `REFUSED`, `UNSAFE`; a
//! photo at the drop-off). The order goes back to dispatch, its partner and customer hear
//! it once, the driver is paid the trip without the tip, and auto-dispatch (when on for
//! the order type) offers it to another driver at once (`offer`). 409 before the pickup
//! or on a closed order; 403 for anyone but the assigned driver.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    autodispatch::offers::offer_again,
    drivers::failed_attempts::{report, require_reporter, FailedAttemptReport},
    http::ok,
    input::{parse_json, path_param},
    orders::parse_order_number,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api).idempotent();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "the assigned driver reports a failed delivery attempt",
    &[Route::post("/api/orders/{order_number}/failed-attempt").requires(Permission::Drive)],
)
.policies(&[Policy::OfferExpirySend])
.environment(&[("OFFER_EXPIRY_QUEUE_URL", Cfn::Ref("OfferExpiryQueue"))]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(failed_attempt(state, req))
}

async fn failed_attempt(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::Drive)?;
    let number = parse_order_number(path_param(&req, "order_number")?)?;
    require_reporter(state, &caller, &number).await?;
    let body: FailedAttemptReport = parse_json(&req)?;
    let failed = report(state, &caller, &number, &body).await?;
    // Back with dispatch: one of the moments auto-dispatch offers an order.
    let offer = offer_again(state, failed.order.id).await;
    ok(&serde_json::json!({
        "order": failed.order,
        "attempt": failed.attempt,
        "offer": offer,
    }))
}
