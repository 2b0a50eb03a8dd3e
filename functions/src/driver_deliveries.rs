//! `GET /api/driver-deliveries`: the calling driver's feed, the open orders it is
//! dispatched to, newest first in cursor pages; 403 for callers who do not drive.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    drivers::{
        dispatch::{assignments, Which},
        own_driver,
    },
    http::ok,
    input::PageRequest,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "the calling driver's open deliveries",
    &[Route::get("/api/driver-deliveries").requires(Permission::Drive)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(driver_deliveries(state, req))
}

async fn driver_deliveries(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    let driver_id = own_driver(&*client, &caller, None).await?;
    ok(&assignments(&*client, driver_id, Which::Open, &page).await?)
}
