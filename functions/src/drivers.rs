//! `GET /api/drivers`: staff see every driver (status, on shift, last location, open
//! deliveries), newest first in cursor pages, filtered by `?active=&onDuty=`; a driver
//! sees only its own row; anyone else 403.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    drivers::roster::{list, RosterFilter},
    http::ok,
    input::{PageRequest, Query},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "the staff list of drivers",
    &[Route::get("/api/drivers")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(drivers(state, req))
}

async fn drivers(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let filter = RosterFilter::from_query(&Query::of(&req))?;
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    ok(&list(&*client, &caller, filter, &page).await?)
}
