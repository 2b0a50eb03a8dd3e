//! `POST /api/cater-valley/orders/draft` and `POST /api/partners/orders/draft`: a partner
//! drafts an order and learns its delivery price.
//!
//! Authenticated by `partner` + `x-api-key`. The order number is the partner's prefix plus
//! its order code; a live order with that number is a 409. The delivery must be more than
//! two hours and at most a year ahead, from 07:00 up to 22:00 Los Angeles time (else 422).
//! Errors use the partner API's `{"status":"ERROR","message"}` shape.

use lambda_http::{Body, Request, Response};
use shared::{
    http::created,
    idempotency,
    input::parse_json,
    partners::{
        authenticate,
        orders::{draft, DraftRequest},
    },
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Partner)
    .idempotent()
    .partner_errors();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "a partner drafts and prices an order",
    &[
        // Drafts price an order (geocoding, distances): a partner's retry loop must not
        // drain the maps budget.
        Route::post("/api/cater-valley/orders/draft")
            .without_authorizer()
            .named("PostCaterValley")
            .throttle(50, 20),
        Route::post("/api/partners/orders/draft")
            .without_authorizer()
            .named("PostPartners")
            .throttle(50, 20),
    ],
)
    .policies(&[Policy::MapsKeyRead]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(draft_order(state, req))
}

async fn draft_order(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let partner = authenticate(state, &req).await?;
    let body: DraftRequest = parse_json(&req)?;
    created(&draft(state, &partner, &body, idempotency::key(&req)?).await?)
}
