//! `GET /api/drivers/{driverId}/history`: the driver's completed deliveries with what each
//! paid, newest first in cursor pages; for the driver itself and staff, 404 for anyone
//! else.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    drivers::{readable_driver, stats::history},
    http::ok,
    input::{path_uuid, PageRequest},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "a driver's completed deliveries and their pay",
    &[Route::get("/api/drivers/{driverId}/history")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(driver_history(state, req))
}

async fn driver_history(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let requested = path_uuid(&req, "driverId")?;
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    let driver_id = readable_driver(&*client, &caller, Some(requested)).await?;
    ok(&history(&*client, driver_id, &page).await?)
}
