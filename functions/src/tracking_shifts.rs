//! A driver's shifts.
//!
//! - `POST /api/tracking/shifts/start {driverId?, location? {coordinates {lat, lng}}}` →
//!   `{success, shiftId, shift}`: the caller's own driver only (403 for another's id or a
//!   non-driver); 409 while a shift is open or the driver is inactive.
//! - `POST /api/tracking/shifts/end {shiftId, location?, finalMileage?}` → `{success,
//!   shift}` with the tracked and reported mileage; 409 `{activeDeliveries}` while a
//!   delivery is open; another's shift is 404.
//! - `GET /api/tracking/shifts/active?driverId=` → `{shift | null}`: a driver's own
//!   (`driverId` optional), any driver's for staff.

use lambda_http::{http::Method, Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    drivers::shifts::{self, EndShift, StartShift},
    http::ok,
    input::{parse_json, parse_uuid, query_param},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "a driver's shifts",
    &[
        Route::post("/api/tracking/shifts/start").named("Start").requires(Permission::Drive),
        Route::post("/api/tracking/shifts/end").named("End").requires(Permission::Drive),
        Route::get("/api/tracking/shifts/active").named("Active"),
    ],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(tracking_shifts(state, req))
}

async fn tracking_shifts(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    if req.method() == Method::GET {
        let driver_id = query_param(&req, "driverId")
            .map(|raw| parse_uuid("driverId", raw))
            .transpose()?;
        let client = state.db.get().await?;
        let shift = shifts::active(&*client, &caller, driver_id).await?;
        return ok(&serde_json::json!({ "shift": shift }));
    }
    // The template routes only `/start` and `/end` here for POST.
    if req.uri().path().ends_with("/end") {
        let request: EndShift = parse_json(&req)?;
        let shift = shifts::end(state, &caller, &request).await?;
        return ok(&serde_json::json!({ "success": true, "shift": shift }));
    }
    let request: StartShift = parse_json(&req)?;
    let shift = shifts::start(state, &caller, &request).await?;
    ok(&serde_json::json!({ "success": true, "shiftId": shift.id, "shift": shift }))
}
