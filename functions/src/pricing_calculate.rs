//! `POST /api/pricing/calculate`: the delivery fee for a head count and/or food cost over a
//! distance (given in miles, or measured between two addresses), with the breakdown and
//! the configuration version that produced it. Every quote is recorded.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::parse_json,
    pricing::quote::{quote, QuoteRequest},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "a delivery fee with its breakdown",
    &[Route::post("/api/pricing/calculate")],
)
    .policies(&[Policy::MapsKeyRead]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(calculate(state, req))
}

async fn calculate(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::QuotePrices)?;
    let request: QuoteRequest = parse_json(&req)?;
    let client = state.db.get().await?;
    ok(&quote(state, &*client, &request, &caller).await?)
}
