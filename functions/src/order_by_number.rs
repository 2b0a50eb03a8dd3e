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
use shared::{
    auth::{caller, Permission},
    http::{no_content, ok},
    input::{bounded_text, parse_json, path_param, query_param, Lines},
    drivers::progress::{self, OrderPatch},
    orders::{
        edit::{delete, lock_visible, update, OrderRef},
        history, parse_order_number,
    },
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
    let edit: Option<OrderPatch> = match *req.method() {
        Method::PATCH => Some(parse_json(&req)?),
        _ => None,
    };
    let reason = query_param(&req, "reason")
        .map(|r| bounded_text("reason", r, 1, 500, Lines::One))
        .transpose()
        .map_err(|e| ApiError::validation(vec![e]))?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let order = lock_visible(&tx, &caller, OrderRef::Number(&number)).await?;
    let response = match (req.method().clone(), edit) {
        (Method::PATCH, Some(OrderPatch::Fields(edit))) => {
            ok(&serde_json::json!({ "order": update(&tx, &caller, &order, &edit).await? }))?
        }
        (Method::PATCH, Some(OrderPatch::Progress(report))) => {
            progress::report(&tx, &caller, &order, &report).await?;
            let order = lock_visible(&tx, &caller, OrderRef::Id(order.id)).await?;
            ok(&serde_json::json!({ "order": order }))?
        }
        (Method::DELETE, _) => {
            delete(&tx, &caller, &order, reason).await?;
            no_content()
        }
        _ => {
            let entries = history(&tx, order.id, 50).await?;
            ok(&serde_json::json!({ "order": order, "statusHistory": entries }))?
        }
    };
    tx.commit().await?;
    Ok(response)
}
