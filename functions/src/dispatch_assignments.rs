//! `GET /api/dispatch/driver/{id}/assignments`: every order a driver was dispatched to,
//! current and past, newest first in cursor pages; for staff and the driver itself, 404
//! for anyone else.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    drivers::{
        dispatch::{assignments, Which},
        readable_driver,
    },
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
    "a driver's assignments",
    &[Route::get("/api/dispatch/driver/{id}/assignments")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(driver_assignments(state, req))
}

async fn driver_assignments(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let requested = path_uuid(&req, "id")?;
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    let driver_id = readable_driver(&*client, &caller, Some(requested)).await?;
    ok(&assignments(&*client, driver_id, Which::All, &page).await?)
}
