//! `GET /api/analytics/deliveries?from=&to=&groupBy=day|driver|client|vendor|partner&format=json|csv`:
//! on-time rate, delay, service times, deliveries per driver-hour and failed attempts of
//! the deliveries due on business days `from` to `to`, per group and in total
//! ([`shared::on_time`] says what counts). Staff see every order, a client or vendor its
//! own; `format=csv` is the same report as a download.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    error::FieldError,
    export,
    http::ok,
    input::{query_param, required_date},
    on_time::{self, GroupBy, Query},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "on-time analytics of deliveries by day, driver, client, vendor or partner, as JSON or CSV",
    &[Route::get("/api/analytics/deliveries").requires(Permission::ViewDeliveryAnalytics)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(deliveries(state, req))
}

async fn deliveries(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::ViewDeliveryAnalytics)?;
    let group_by = query_param(&req, "groupBy")
        .unwrap_or("day")
        .parse::<GroupBy>()
        .map_err(|e| ApiError::validation(vec![FieldError::new("groupBy", e)]))?;
    let csv = match query_param(&req, "format").unwrap_or("json") {
        "json" => false,
        "csv" => true,
        _ => {
            return Err(ApiError::validation(vec![FieldError::new(
                "format",
                "must be json or csv",
            )]))
        }
    };
    let query = Query::new(
        required_date(&req, "from")?,
        required_date(&req, "to")?,
        group_by,
    )?;
    let client = state.db.get().await?;
    let report = on_time::report(&*client, &caller, query).await?;
    if csv {
        let name = format!("deliveries-{}-{}-by-{}.csv", query.from, query.to, group_by);
        export::response(&name, on_time::csv(&report)?, false)
    } else {
        ok(&report)
    }
}
