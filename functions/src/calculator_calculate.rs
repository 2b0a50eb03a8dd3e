//! `POST /api/calculator/calculate`: the original admin calculator's route. Same engine and
//! inputs as `/api/pricing/calculate` (it also accepts `headcount`, `mileage`,
//! `requiresBridge`, `tips`, `clientConfigId`), answered in the calculator's envelope.

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
    "the admin calculator's price",
    &[Route::post("/api/calculator/calculate")],
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
    let quote = quote(state, &*client, &request, &caller).await?;
    ok(&serde_json::json!({
        "success": true,
        "data": {
            "customerCharges": {
                "baseFee": quote.breakdown.base_price,
                "mileageCharges": quote.breakdown.mileage_fee,
                "dailyDriveDiscount": quote.breakdown.daily_drive_discount,
                "bridgeToll": quote.breakdown.bridge_toll,
                "tips": quote.breakdown.tip,
                "total": quote.total,
            },
            "deliveryFee": quote.delivery_fee,
            "distance": quote.distance,
            "needsManualReview": quote.needs_manual_review,
            "configuration": quote.configuration,
            "quoteId": quote.quote_id,
        }
    }))
}
