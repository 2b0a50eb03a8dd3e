//! What a caller does to one order, each in one transaction that this module opens and
//! commits: the handlers parse the request and answer, and never hold a transaction.
//! Every action locks the order within the caller's scope first (404 outside it).

use serde::Serialize;
use uuid::Uuid;

use super::{
    edit::{self, lock_visible, OrderRef, OrderUpdate, StatusUpdate},
    eta::DeliveryEta,
    history, HistoryEntry, Order,
};
use crate::{auth::Caller, error::ApiResult, AppState};

/// The newest history entries an order view shows.
const HISTORY_SHOWN: i64 = 50;

/// An order with its newest status changes, as the single-order routes show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    pub order: Order,
    pub status_history: Vec<HistoryEntry>,
    /// When its driver is expected at the pickup and the drop, as the driver's location
    /// reports keep them; none before a report.
    pub eta: Option<DeliveryEta>,
}

/// The order and its history.
#[tracing::instrument(name = "view_order", skip_all)]
pub async fn view(state: &AppState, caller: &Caller, order: OrderRef<'_>) -> ApiResult<OrderView> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let order = lock_visible(&tx, caller, order).await?;
    let status_history = history(&tx, order.id, HISTORY_SHOWN).await?;
    let eta = super::eta::of_order(&tx, order.id).await?;
    tx.commit().await?;
    Ok(OrderView {
        order,
        status_history,
        eta,
    })
}

/// Field edits under [`edit::may_change`]; the order as it now reads.
#[tracing::instrument(name = "edit_order", skip_all)]
pub async fn update(
    state: &AppState,
    caller: &Caller,
    order: OrderRef<'_>,
    changes: &OrderUpdate,
) -> ApiResult<Order> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let order = lock_visible(&tx, caller, order).await?;
    let updated = edit::update(&tx, caller, &order, changes).await?;
    tx.commit().await?;
    Ok(updated)
}

/// Cancels and hides the order ([`edit::delete`]), keeping `reason`.
#[tracing::instrument(name = "delete_order", skip_all)]
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    order: OrderRef<'_>,
    reason: Option<String>,
) -> ApiResult<()> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let order = lock_visible(&tx, caller, order).await?;
    edit::delete(&tx, caller, &order, reason).await?;
    tx.commit().await?;
    Ok(())
}

/// A status move ([`edit::set_status`]); the order and its history after it.
#[tracing::instrument(name = "move_order_status", skip_all, fields(%order_id))]
pub async fn move_status(
    state: &AppState,
    caller: &Caller,
    order_id: Uuid,
    update: &StatusUpdate,
) -> ApiResult<OrderView> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let order = lock_visible(&tx, caller, OrderRef::Id(order_id)).await?;
    edit::set_status(&tx, caller, &order, update).await?;
    let order = lock_visible(&tx, caller, OrderRef::Id(order_id)).await?;
    let status_history = history(&tx, order_id, HISTORY_SHOWN).await?;
    let eta = super::eta::of_order(&tx, order_id).await?;
    tx.commit().await?;
    Ok(OrderView {
        order,
        status_history,
        eta,
    })
}
