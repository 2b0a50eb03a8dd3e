//! `GET /api/orders/{order_number}/tracking-link` → `{token, path, expiresAt}`: a signed
//! public link to follow the order for 24 hours (`GET /api/track/{token}`, no account),
//! for the order's owner and staff; anyone else gets 404.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    drivers::tracking::tracking_link,
    http::ok,
    input::path_param,
    orders::parse_order_number,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api).warm_signing_key();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "a signed public link to follow the order",
    &[Route::get("/api/orders/{order_number}/tracking-link")],
)
    .policies(&[Policy::SigningKeyRead]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(order_tracking_link(state, req))
}

async fn order_tracking_link(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let number = parse_order_number(path_param(&req, "order_number")?)?;
    ok(&tracking_link(state, &caller, &number).await?)
}
