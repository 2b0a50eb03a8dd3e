//! `POST /api/cater-valley/orders/update` and `POST /api/partners/orders/update`: a partner
//! changes its own draft while it is PENDING or ACTIVE (else 422), and gets the new price.

use lambda_http::{Body, Request, Response};
use shared::{
    http::ok,
    input::parse_json,
    partners::{
        authenticate,
        orders::{update, DraftRequest, UpdateTarget},
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
    "a partner changes its draft",
    &[
        Route::post("/api/cater-valley/orders/update")
            .without_authorizer()
            .named("PostCaterValley"),
        Route::post("/api/partners/orders/update").without_authorizer().named("PostPartners"),
    ],
)
    .policies(&[Policy::MapsKeyRead]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(update_order(state, req))
}

async fn update_order(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let partner = authenticate(state, &req).await?;
    let target: UpdateTarget = parse_json(&req)?;
    let body: DraftRequest = parse_json(&req)?;
    ok(&update(state, &partner, &target, &body).await?)
}
