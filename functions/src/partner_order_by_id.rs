//! `GET /api/cater-valley/orders/{id}` and `GET /api/partners/orders/{id}`: a partner's own
//! order with its lifecycle status and last ten events, so a partner can catch up after an
//! outage. Another partner's order is a 404; staff notes never show.

use lambda_http::{Body, Request, Response};
use shared::{
    http::ok,
    input::path_param,
    partners::{
        authenticate,
        orders::{order_id, view},
    },
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Partner).partner_errors();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "a partner's order and its events",
    &[
        Route::get("/api/cater-valley/orders/{id}").without_authorizer().named("GetCaterValley"),
        Route::get("/api/partners/orders/{id}").without_authorizer().named("GetPartners"),
    ],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(order(state, req))
}

async fn order(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let partner = authenticate(state, &req).await?;
    let id = order_id("id", path_param(&req, "id")?)?;
    ok(&view(state, &partner, id).await?)
}
