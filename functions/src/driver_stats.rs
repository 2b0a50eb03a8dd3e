//! `GET /api/drivers/{driverId}/stats?period=today|week|month|all` (default `week`): the
//! driver's completed and open deliveries, miles, earnings (base, mileage, bonus, tolls,
//! tips) and shifts in the period; for the driver itself and staff, 404 for anyone else.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    drivers::{
        readable_driver,
        stats::{stats, Period},
    },
    error::FieldError,
    http::ok,
    input::{path_uuid, query_param},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "a driver's deliveries, miles, earnings and shifts in a period",
    &[Route::get("/api/drivers/{driverId}/stats")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(driver_stats(state, req))
}

async fn driver_stats(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let requested = path_uuid(&req, "driverId")?;
    let period = query_param(&req, "period")
        .unwrap_or("week")
        .parse::<Period>()
        .map_err(|e| ApiError::validation(vec![FieldError::new("period", e)]))?;
    let client = state.db.get().await?;
    let driver_id = readable_driver(&*client, &caller, Some(requested)).await?;
    ok(&stats(&*client, driver_id, period).await?)
}
