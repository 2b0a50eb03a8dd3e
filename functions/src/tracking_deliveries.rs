//! `GET /api/tracking/deliveries`: deliveries newest first in cursor pages; a driver's
//! own, or for staff any (`?driverId=&status=`). 403 for callers who neither drive nor
//! dispatch, and for a driver naming another.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    drivers::deliveries::list,
    error::FieldError,
    http::ok,
    input::{parse_uuid, query_param, PageRequest},
    orders::status::DriverStatus,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "deliveries of a driver, or all for staff",
    &[Route::get("/api/tracking/deliveries")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(deliveries(state, req))
}

async fn deliveries(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let driver = query_param(&req, "driverId")
        .map(|raw| parse_uuid("driverId", raw))
        .transpose()?;
    let status = query_param(&req, "status")
        .map(|raw| raw.parse::<DriverStatus>())
        .transpose()
        .map_err(|e| ApiError::validation(vec![FieldError::new("status", e)]))?;
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    ok(&list(&*client, &caller, driver, status, &page).await?)
}
