//! `GET /api/driver/route?date=YYYY-MM-DD&driverId=` → `{driverId, date, stops}`: a
//! driver's route of a day as applied plans timed it, stops in order (pickup and drop of
//! each delivery, planned time, place, where the delivery stands). A driver reads its own
//! (`driverId` optional); staff name the driver. Other roles get 403.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    error::ApiError,
    http::ok,
    input::{parse_uuid, query_param, required_date},
    planning::route::of_day,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "a driver's planned route of a day",
    &[Route::get("/api/driver/route")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(driver_route(state, req))
}

async fn driver_route(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    if !(caller.can(Permission::Drive) || caller.can(Permission::ViewDrivers)) {
        return Err(ApiError::forbidden("only drivers and staff read routes"));
    }
    let date = required_date(&req, "date")?;
    let driver_id = query_param(&req, "driverId")
        .map(|raw| parse_uuid("driverId", raw))
        .transpose()?;
    let client = state.db.get().await?;
    ok(&of_day(&*client, &caller, driver_id, date).await?)
}
