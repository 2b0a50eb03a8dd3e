//! `POST /api/cater-valley/orders/confirm` and `POST /api/partners/orders/confirm`: the
//! partner accepts its draft (CONFIRMED) or rejects it (CANCELLED, keeping the reason),
//! through the one status-change function.

use chrono::{Duration, Utc};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::{
    db::p,
    http::ok,
    input::{bounded_text, parse_json, Validator},
    orders::{change_status, status::OrderStatus, Actor, StatusChange},
    partners::{
        authenticate,
        orders::{order_id, PICKUP_LEAD},
    },
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiError, ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Partner)
    .idempotent()
    .partner_errors();

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(confirm(state, req))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfirmRequest {
    id: String,
    is_accepted: bool,
    reason: Option<String>,
}

async fn confirm(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let partner = authenticate(state, &req).await?;
    let body: ConfirmRequest = parse_json(&req)?;
    let id = order_id("id", &body.id)?;
    let mut v = Validator::new();
    let reason = body
        .reason
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .and_then(|r| v.take(bounded_text("reason", r, 1, 1000, true)));
    v.finish()?;

    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_typed_opt(
            "SELECT order_number, pickup_date_time FROM orders WHERE id = $1 AND partner_id = $2 AND deleted_at IS NULL",
            &[p(&id), p(&partner.id)],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let order_number: String = row.get(0);
    let pickup_at: chrono::DateTime<Utc> = row.get(1);
    let target = if body.is_accepted {
        OrderStatus::Confirmed
    } else {
        OrderStatus::Cancelled
    };
    change_status(
        &tx,
        id,
        &StatusChange {
            order: Some(target),
            driver: None,
            actor: Actor::Partner(partner.id),
            note: reason.clone(),
            location: None,
        },
    )
    .await?;
    if !body.is_accepted {
        tx.execute_typed(
            "UPDATE orders SET cancellation_reason = $2 WHERE id = $1",
            &[p(&id), p(&reason)],
        )
        .await?;
    }
    tx.commit().await?;
    let message = if body.is_accepted {
        "Order confirmed; a driver will be assigned shortly"
    } else {
        "Order cancelled"
    };
    ok(&serde_json::json!({
        "id": id,
        "orderNumber": order_number,
        "status": target,
        "message": message,
        "estimatedDeliveryTime": pickup_at + PICKUP_LEAD,
        "driverAssignment": {
            "expectedAssignmentTime": Utc::now() + Duration::minutes(15),
            "trackingAvailable": body.is_accepted,
        },
    }))
}
