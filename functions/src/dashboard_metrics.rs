//! `GET /api/dashboard-metrics?period=day|week|month|year`: the platform's figures for
//! staff (orders, by status, revenue, delivery fees, completed deliveries, drivers on duty
//! now) over the rolling period (a month by default). Cached five minutes; answers `304`
//! to an `If-None-Match` holding its `ETag`.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    dashboard::{platform, respond, Period},
    http::header,
    input::query_param,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "the platform's figures by period (staff), cached with an ETag",
    &[Route::get("/api/dashboard-metrics").requires(Permission::ViewAllOrders)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(metrics(state, req))
}

async fn metrics(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let period = Period::parse(query_param(&req, "period"))?;
    let answer = platform(state, &caller, period).await?;
    respond(&answer, header(req.headers(), "if-none-match"))
}
