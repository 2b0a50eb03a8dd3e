//! `GET /api/dispatch/offer-stats?window=24h`: how auto-dispatch did over the window
//! (`1h` to `30d`): offers by outcome, the acceptance rate, offers per order, time from
//! first offer to accept (p50, p95), and what is pending or escalated now. For staff who
//! dispatch; the ops page shows it.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    autodispatch::statistics::of_window,
    http::ok,
    input::query_param,
    monitoring::overview::Window,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "auto-dispatch statistics",
    &[Route::get("/api/dispatch/offer-stats").requires(Permission::DispatchDrivers)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(offer_stats(state, req))
}

async fn offer_stats(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::DispatchDrivers)?;
    let window: Window = query_param(&req, "window")
        .unwrap_or("24h")
        .parse()
        .map_err(|e| ApiError::validation(vec![e]))?;
    let client = state.db.get().await?;
    ok(&serde_json::json!({ "statistics": of_window(&*client, &caller, window).await? }))
}
