//! `GET | PATCH | DELETE /api/orders/{order_number}`: one order by its number.
//!
//! GET shows the order and its status history. PATCH edits fields and DELETE cancels and
//! hides the order, under one rule (`shared::orders::edit::may_change`): staff until the
//! order is closed, its owner only before it is underway (409 after), nobody else (403).
//! A PATCH with `driverStatus` (and `location? {lat, lng}`, `notes?`) is the driver app's
//! progress report: only the order's assigned driver (403 for others who see it).
//! Deleting another's order also needs ADMIN or SUPER_ADMIN. `DELETE ?reason=` keeps the
//! reason as the cancellation reason. Orders outside the caller's scope answer 404.

use lambda_http::{http::Method, Body, Request, Response};
use serde_json::json;
use shared::{
    auth::{caller, Permission},
    drivers::progress::{self, OrderPatch},
    http::{no_content, ok},
    input::{bounded_text, parse_json, path_param, query_param, Lines},
    orders::{actions, edit::OrderRef, parse_order_number},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "one order and its history",
    &[
        Route::get("/api/orders/{order_number}"),
        Route::patch("/api/orders/{order_number}"),
        Route::delete("/api/orders/{order_number}"),
    ],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(order_by_number(state, req))
}

async fn order_by_number(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::ViewOrders)?;
    let number = parse_order_number(path_param(&req, "order_number")?)?;
    let order = OrderRef::Number(&number);
    match *req.method() {
        Method::PATCH => match parse_json(&req)? {
            OrderPatch::Fields(edit) => {
                ok(&json!({ "order": actions::update(state, &caller, order, &edit).await? }))
            }
            OrderPatch::Progress(report) => ok(
                &json!({ "order": progress::report_on(state, &caller, order, &report).await? }),
            ),
        },
        Method::DELETE => {
            let reason = query_param(&req, "reason")
                .map(|r| bounded_text("reason", r, 1, 500, Lines::One))
                .transpose()
                .map_err(|e| ApiError::validation(vec![e]))?;
            actions::delete(state, &caller, order, reason).await?;
            Ok(no_content())
        }
        _ => ok(&actions::view(state, &caller, order).await?),
    }
}
