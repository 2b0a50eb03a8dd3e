//! `GET /api/vendor/metrics?period=day|week|month|year&vendorId=`: a vendor's own figures
//! (its orders, by status, revenue, delivery fees, completed deliveries); staff name the
//! vendor with `vendorId`. Cached five minutes, with an `ETag` (`304` when unchanged).

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    dashboard::{respond, vendor, Period},
    http::header,
    input::{parse_uuid, query_param},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "a vendor's own figures by period, cached with an ETag",
    &[Route::get("/api/vendor/metrics").requires(Permission::ViewVendorOrders)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(metrics(state, req))
}

async fn metrics(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let period = Period::parse(query_param(&req, "period"))?;
    let asked = query_param(&req, "vendorId")
        .map(|v| parse_uuid("vendorId", v))
        .transpose()?;
    let answer = vendor(state, &caller, asked, period).await?;
    respond(&answer, header(req.headers(), "if-none-match"))
}
