//! `GET /api/orders/{order_number}/driver-location` → `{driverLocation {lat, lng,
//! accuracy, speed, heading, isOnDuty, lastUpdate} | null, eta | null}`: for the order's
//! owner (and staff), the driver's latest point and the ETA to the next stop while the
//! delivery is in progress, `null` otherwise. Anyone else gets 404.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    drivers::tracking::driver_location,
    http::ok,
    input::path_param,
    orders::parse_order_number,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "the driver's position and ETA for the order's owner",
    &[Route::get("/api/orders/{order_number}/driver-location")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(order_driver_location(state, req))
}

async fn order_driver_location(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let number = parse_order_number(path_param(&req, "order_number")?)?;
    ok(&driver_location(state, &caller, &number).await?)
}
