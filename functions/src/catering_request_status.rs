//! `PATCH /api/catering-requests/{orderId}/status`: moves an order through its statuses.
//!
//! Staff make any legal transition; a client or vendor may only cancel their own order.
//! The change goes through the one status-change function, so it is checked against the
//! graph and recorded in the history; an illegal one is a 409 naming both statuses.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::{
    auth::{caller, Permission},
    db::p,
    http::ok,
    input::{bounded_text, parse_json, path_uuid, Validator},
    orders::{change_status, find_visible, history, status::OrderStatus, Actor, StatusChange},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(update_status(state, req))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusUpdate {
    status: OrderStatus,
    note: Option<String>,
}

async fn update_status(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::ViewOrders)?;
    let order_id = path_uuid(&req, "orderId")?;
    let body: StatusUpdate = parse_json(&req)?;
    let mut v = Validator::new();
    let note = body
        .note
        .as_deref()
        .and_then(|n| v.take(bounded_text("note", n, 1, 1000, true)));
    v.finish()?;

    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    // Not visible is not found, whatever the caller's role.
    let order = find_visible(&tx, &caller, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    // Without ManageOrders a caller may only cancel an order they placed; a driver sees
    // the orders dispatched to them but reports progress through the driver routes.
    let own_cancel = body.status == OrderStatus::Cancelled && order.user_id == caller.user_id;
    if !caller.can(Permission::ManageOrders) && !own_cancel {
        return Err(ApiError::forbidden("you may only cancel your own orders"));
    }
    let change = StatusChange {
        order: Some(body.status),
        driver: None,
        actor: Actor::User(caller.user_id),
        note: note.clone(),
        location: None,
    };
    change_status(&tx, order_id, &change).await?;
    if body.status == OrderStatus::Cancelled {
        tx.execute_typed(
            "UPDATE orders SET cancellation_reason = $2 WHERE id = $1",
            &[p(&order_id), p(&note)],
        )
        .await?;
    }
    let order = find_visible(&tx, &caller, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let entries = history(&tx, order_id, 50).await?;
    tx.commit().await?;
    ok(&serde_json::json!({ "order": order, "statusHistory": entries }))
}
