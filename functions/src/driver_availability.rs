//! A day's planned driver availability, and adding a window.
//!
//! - `GET /api/drivers/availability?date=YYYY-MM-DD&driverId=&limit=&cursor=` →
//!   `{items: [window], nextCursor}`: staff see every driver's windows that day (or one
//!   driver's), a driver its own; oldest start first.
//! - `POST /api/drivers/availability {driverId?, startsAt, endsAt, startPlace {addressId |
//!   address}, endPlace?, vehicleType?}` → 201 `{window}`: a driver for itself, staff for
//!   any driver (`driverId` required). 409 `availability_overlap` when the driver already
//!   has a window in that time; 400 naming the field for a span over 16 hours, an end
//!   before the start or already past, or a place the map does not know.

use lambda_http::{http::Method, Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    drivers::availability::{create, list, WindowInput},
    http::{created, ok},
    input::{parse_json, parse_uuid, query_param, required_date, PageRequest},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "a day's planned driver availability, and adding a window",
    &[
        Route::get("/api/drivers/availability").requires(Permission::PlanAvailability),
        Route::post("/api/drivers/availability").requires(Permission::PlanAvailability),
    ],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(driver_availability(state, req))
}

async fn driver_availability(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::PlanAvailability)?;
    if req.method() == Method::POST {
        let input: WindowInput = parse_json(&req)?;
        let window = create(state, &caller, &input).await?;
        return created(&serde_json::json!({ "window": window }));
    }
    let date = required_date(&req, "date")?;
    let driver_id = query_param(&req, "driverId")
        .map(|raw| parse_uuid("driverId", raw))
        .transpose()?;
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    ok(&list(&*client, &caller, date, driver_id, &page).await?)
}
