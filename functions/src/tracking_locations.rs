//! `POST /api/tracking/locations`: a driver on shift reports where it is, one point or a
//! batch of up to 100 (`{locations: [...]}` or a bare array) of `{latitude, longitude,
//! accuracy?, speed?, heading?, altitude?, batteryLevel?, isMoving?, recordedAt}`.
//!
//! Only for itself (403 for another driver's id or a non-driver); 409 without an open
//! shift; 400 naming each bad field. Points already stored are skipped, so a retried
//! batch stores nothing twice; GPS jumps are left out and listed. Answers `{success,
//! shiftId, accepted, duplicates, rejected [{index, reason}]}`. A report every two seconds
//! per driver.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    drivers::locations::{ingest, LocationReport},
    http::ok,
    input::parse_json,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Tracking);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "a driver's location points, checked and deduplicated",
    &[Route::post("/api/tracking/locations").requires(Permission::Drive)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(locations(state, req))
}

async fn locations(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let report: LocationReport = parse_json(&req)?;
    ok(&ingest(state, &caller, &report).await?)
}
