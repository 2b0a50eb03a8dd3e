//! `GET /api/tracking/drivers`.
//!
//! With `?lat=&lng=` (and `radiusM`, default 25 km; `limit`, default 10): the nearest
//! drivers who can take a delivery (on shift, active, under their delivery cap), nearest
//! first, each with `distanceMeters` and `etaMinutes`; staff only. Without a position:
//! the driver list of `GET /api/drivers` (`?active=&onDuty=&limit=`; a driver sees only
//! its own row).

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    drivers::roster::{list, nearest, NearQuery, RosterFilter},
    http::ok,
    input::{query_param, PageRequest, Query},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "nearest available drivers to a point, or the driver list",
    &[Route::get("/api/tracking/drivers")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(tracking_drivers(state, req))
}

async fn tracking_drivers(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let client = state.db.get().await?;
    let (lat, lng) = (query_param(&req, "lat"), query_param(&req, "lng"));
    if lat.is_some() || lng.is_some() {
        let query = NearQuery::parse(
            lat,
            lng,
            query_param(&req, "radiusM"),
            query_param(&req, "limit"),
        )?;
        let drivers = nearest(&*client, &caller, query).await?;
        return ok(&serde_json::json!({ "drivers": drivers }));
    }
    let filter = RosterFilter::from_query(&Query::of(&req))?;
    let page = PageRequest::from_request(&req)?;
    ok(&list(&*client, &caller, filter, &page).await?)
}
