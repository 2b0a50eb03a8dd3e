//! `POST /api/cater-valley/orders/confirm` and `POST /api/partners/orders/confirm`: the
//! partner accepts its draft (CONFIRMED) or rejects it (CANCELLED, keeping the reason),
//! through the one status-change function. Only a PENDING or ACTIVE draft can be
//! confirmed or rejected (else 422).

use lambda_http::{Body, Request, Response};
use shared::{
    http::ok,
    input::parse_json,
    partners::{
        authenticate,
        orders::{confirm, ConfirmRequest},
    },
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Partner)
    .idempotent()
    .partner_errors();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "a partner accepts or rejects its draft",
    &[
        Route::post("/api/cater-valley/orders/confirm")
            .without_authorizer()
            .named("PostCaterValley"),
        Route::post("/api/partners/orders/confirm").without_authorizer().named("PostPartners"),
    ],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(confirm_order(state, req))
}

async fn confirm_order(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let partner = authenticate(state, &req).await?;
    let body: ConfirmRequest = parse_json(&req)?;
    ok(&confirm(state, &partner, &body).await?)
}
