//! Recurring catering orders ([`shared::series`]), for the client or vendor whose orders
//! they are and for staff:
//! - `POST /api/order-series` `{rule, startsOn, endsOn?, pickupTime, arrivalTime,
//!   horizonDays?, order, userId? (staff)}` → 201 `{series}`; an `Idempotency-Key` makes a
//!   retried create answer the first series;
//! - `GET /api/order-series` → one page of series, newest first;
//! - `GET /api/order-series/{seriesId}` → `{series}` with its next dates and their orders;
//! - `PATCH /api/order-series/{seriesId}` `{rule?, endsOn?, pickupTime?, arrivalTime?,
//!   horizonDays?, paused?, order?}` → `{series}`: the orders to come that no driver has
//!   yet follow;
//! - `POST /api/order-series/{seriesId}/dates/{date}/skip` → `{series}`: one date skipped.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::{created, ok, route_key},
    input::{parse_date, parse_json, path_param, path_uuid, PageRequest},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    series::{self, NewSeries, SeriesEdit},
    ApiError, ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api).idempotent();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "recurring catering orders: series, their dates and skips",
    &[
        Route::get("/api/order-series")
            .named("List")
            .requires(Permission::CreateOrders),
        Route::post("/api/order-series")
            .named("Create")
            .requires(Permission::CreateOrders),
        Route::get("/api/order-series/{seriesId}")
            .named("One")
            .requires(Permission::CreateOrders),
        Route::patch("/api/order-series/{seriesId}")
            .named("Edit")
            .requires(Permission::CreateOrders),
        Route::post("/api/order-series/{seriesId}/dates/{date}/skip")
            .named("Skip")
            .requires(Permission::CreateOrders),
    ],
)
    .policies(&[Policy::MapsKeyRead]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(order_series(state, req))
}

async fn order_series(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::CreateOrders)?;
    match route_key(&req).as_deref() {
        Some("GET /api/order-series") => {
            let page = PageRequest::from_request(&req)?;
            let client = state.db.get().await?;
            ok(&series::list(&*client, &caller, &page).await?)
        }
        Some("POST /api/order-series") => {
            let new: NewSeries = parse_json(&req)?;
            let view = series::create(state, &caller, &new).await?;
            created(&serde_json::json!({ "series": view }))
        }
        Some("GET /api/order-series/{seriesId}") => {
            let view = series::view(state, &caller, path_uuid(&req, "seriesId")?).await?;
            ok(&serde_json::json!({ "series": view }))
        }
        Some("PATCH /api/order-series/{seriesId}") => {
            let id = path_uuid(&req, "seriesId")?;
            let change: SeriesEdit = parse_json(&req)?;
            let view = series::edit(state, &caller, id, &change).await?;
            ok(&serde_json::json!({ "series": view }))
        }
        _ => {
            let id = path_uuid(&req, "seriesId")?;
            let date = parse_date("date", path_param(&req, "date")?)
                .map_err(|e| ApiError::validation(vec![e]))?;
            let view = series::skip(state, &caller, id, date).await?;
            ok(&serde_json::json!({ "series": view }))
        }
    }
}
