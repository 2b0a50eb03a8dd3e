//! Changes to a placed order: field edits, deletion and status moves, by its owner or by
//! staff, under one rule of who may still change what ([`may_change`]).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    change_status,
    rules::{self, CateringDetails, OrderNotes, OrderType, Schedule},
    status::{DriverStatus, OrderStatus},
    Actor, Order, Scope, StatusChange, ORDER_SELECT,
};
use crate::{
    auth::{Caller, Permission},
    db::{p, FromRow, Transaction},
    error::{ApiError, ApiResult},
    input::{Lines, Validator},
};

/// Locks an order the caller may see, by number or id; 404 for any other.
pub async fn lock_visible(
    tx: &Transaction<'_>,
    caller: &Caller,
    order: OrderRef<'_>,
) -> ApiResult<Order> {
    let scope = Scope::of(caller);
    let (by_number, by_id) = order.parts();
    let sql = format!(
        "{ORDER_SELECT} WHERE (o.order_number = $1 OR o.id = $2) AND o.deleted_at IS NULL AND {}
         FOR UPDATE OF o",
        scope.sql(3)
    );
    let [all, dispatched, user] = scope.params();
    let row = tx
        .query_typed_opt(&sql, &[p(&by_number), p(&by_id), all, dispatched, user])
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    Order::from_row(&row)
}

/// Locks the order `id`, whoever asks: for a caller whose right to it was checked
/// otherwise (a driver accepting the order's pending offer). 404 when there is none.
pub async fn lock_by_id(tx: &Transaction<'_>, id: Uuid) -> ApiResult<Order> {
    let sql = format!("{ORDER_SELECT} WHERE o.id = $1 AND o.deleted_at IS NULL FOR UPDATE OF o");
    let row = tx
        .query_typed_opt(&sql, &[p(&id)])
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    Order::from_row(&row)
}

/// How a route names an order.
#[derive(Debug, Clone, Copy)]
pub enum OrderRef<'a> {
    Number(&'a str),
    Id(Uuid),
}

impl<'a> OrderRef<'a> {
    /// The number and the id as two optional query parameters, one of them set.
    pub(crate) fn parts(self) -> (Option<&'a str>, Option<Uuid>) {
        match self {
            OrderRef::Number(number) => (Some(number), None),
            OrderRef::Id(id) => (None, Some(id)),
        }
    }
}

/// Who may change an order: staff until it is closed; its owner only while
/// [`rules::owner_may_change`] allows (409 once it is underway); nobody else (a driver
/// reports progress through the driver routes).
pub fn may_change(caller: &Caller, order: &Order) -> ApiResult<()> {
    if order.status.is_settled() {
        return Err(ApiError::conflict(
            "order_closed",
            format!("a {} order cannot be changed", order.status),
        ));
    }
    if caller.can(Permission::ManageOrders) {
        return Ok(());
    }
    if order.user_id != caller.user_id {
        return Err(ApiError::forbidden("you may not change this order"));
    }
    if !rules::owner_may_change(order.status) {
        return Err(ApiError::conflict(
            "order_underway",
            format!("a {} order can only be changed by staff", order.status),
        ));
    }
    Ok(())
}

/// The fields `PATCH /api/orders/{order_number}` may change; absent ones stay.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderUpdate {
    pub pickup_date_time: Option<DateTime<Utc>>,
    pub arrival_date_time: Option<DateTime<Utc>>,
    pub brokerage: Option<String>,
    pub client_attention: Option<String>,
    pub pickup_notes: Option<String>,
    pub special_notes: Option<String>,
    pub headcount: Option<i64>,
    pub need_host: Option<String>,
    pub hours_needed: Option<f64>,
    pub number_of_hosts: Option<i64>,
    pub item_delivered: Option<String>,
    pub order_total: Option<f64>,
    pub tip: Option<f64>,
}

impl OrderUpdate {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// An update after every check: `None` keeps the stored value.
struct CheckedUpdate {
    schedule: Option<Schedule>,
    notes: OrderNotes,
    catering: Option<CateringDetails>,
    item_delivered: Option<String>,
    order_total_cents: Option<i64>,
    tip_cents: Option<i64>,
}

/// Checks an edit against the same rules as a create, on the order as it will be after
/// the edit (so `needHost: YES` on an order without hosts is refused like on create).
fn check_update(
    v: &mut Validator,
    order: &Order,
    edit: &OrderUpdate,
    now: DateTime<Utc>,
    may_backdate: bool,
) -> Option<CheckedUpdate> {
    let catering = order.order_type == OrderType::Catering;
    let catering_edit = edit.headcount.is_some()
        || edit.need_host.is_some()
        || edit.number_of_hosts.is_some()
        || edit.hours_needed.is_some();
    v.check(
        catering || !catering_edit,
        "headcount",
        "only catering orders have head counts and hosts",
    );
    v.check(
        !catering || edit.item_delivered.is_none(),
        "itemDelivered",
        "only on-demand orders have items",
    );
    let schedule = if edit.pickup_date_time.is_some() || edit.arrival_date_time.is_some() {
        rules::schedule(
            v,
            edit.pickup_date_time.unwrap_or(order.pickup_date_time),
            edit.arrival_date_time.unwrap_or(order.arrival_date_time),
            now,
            may_backdate,
        )
        .map(Some)
    } else {
        Some(None)
    };
    let details = if catering && catering_edit {
        catering_after(v, order, edit).map(Some)
    } else {
        Some(None)
    };
    let notes = rules::notes(
        v,
        rules::NotesInput {
            brokerage: edit.brokerage.as_deref(),
            client_attention: edit.client_attention.as_deref(),
            pickup_notes: edit.pickup_notes.as_deref(),
            special_notes: edit.special_notes.as_deref(),
        },
    );
    let item_delivered = v.optional_text(
        "itemDelivered",
        edit.item_delivered.as_deref(),
        200,
        Lines::Many,
    );
    let mut amount = |field: &str, dollars: Option<f64>| match dollars {
        None => Some(None),
        Some(dollars) => rules::order_amount(v, field, dollars).map(Some),
    };
    let order_total_cents = amount("orderTotal", edit.order_total);
    let tip_cents = amount("tip", edit.tip);
    Some(CheckedUpdate {
        schedule: schedule?,
        notes,
        catering: details?,
        item_delivered,
        order_total_cents: order_total_cents?,
        tip_cents: tip_cents?,
    })
}

/// The catering details as they will be after the edit, checked as on create.
fn catering_after(v: &mut Validator, order: &Order, edit: &OrderUpdate) -> Option<CateringDetails> {
    let need_host = order.need_host.map(|n| n.as_str());
    // Asking for a host without saying how many means one, as on create.
    let now_needs_host = edit
        .need_host
        .as_deref()
        .is_some_and(|n| n.to_ascii_uppercase().parse() == Ok(rules::NeedHost::Yes))
        && order.need_host != Some(rules::NeedHost::Yes);
    let stored_hosts = order
        .number_of_hosts
        .map(i64::from)
        .filter(|_| !now_needs_host);
    rules::catering(
        v,
        &rules::CateringInput {
            headcount: edit
                .headcount
                .unwrap_or_else(|| i64::from(order.headcount.unwrap_or(0))),
            need_host: edit.need_host.as_deref().or(need_host),
            hours_needed: edit.hours_needed.or(order.hours_needed),
            number_of_hosts: edit.number_of_hosts.or(stored_hosts),
        },
    )
}

/// Applies an edit to a locked order and returns it as it now reads.
pub async fn update(
    tx: &Transaction<'_>,
    caller: &Caller,
    order: &Order,
    edit: &OrderUpdate,
) -> ApiResult<Order> {
    may_change(caller, order)?;
    let may_backdate = caller.can(Permission::BackdateOrders);
    let checked = Validator::validate(|v| check_update(v, order, edit, Utc::now(), may_backdate))?;
    let schedule = checked.schedule;
    let catering = checked.catering;
    tx.execute_typed(
        "UPDATE orders SET pickup_date_time = COALESCE($2, pickup_date_time),
            arrival_date_time = COALESCE($3, arrival_date_time),
            brokerage = COALESCE($4, brokerage), client_attention = COALESCE($5, client_attention),
            pickup_notes = COALESCE($6, pickup_notes), special_notes = COALESCE($7, special_notes),
            headcount = COALESCE($8, headcount), need_host = COALESCE($9, need_host),
            hours_needed = COALESCE($10, hours_needed), number_of_hosts = COALESCE($11, number_of_hosts),
            item_delivered = COALESCE($12, item_delivered), order_total_cents = COALESCE($13, order_total_cents),
            tip_cents = COALESCE($14, tip_cents)
         WHERE id = $1",
        &[
            p(&order.id),
            p(&schedule.map(|s| s.pickup_at)),
            p(&schedule.map(|s| s.arrival_at)),
            p(&checked.notes.brokerage),
            p(&checked.notes.client_attention),
            p(&checked.notes.pickup_notes),
            p(&checked.notes.special_notes),
            p(&catering.map(|c| c.headcount)),
            p(&catering.map(|c| c.need_host)),
            p(&catering.and_then(|c| c.hours_needed)),
            p(&catering.map(|c| c.number_of_hosts)),
            p(&checked.item_delivered),
            p(&checked.order_total_cents),
            p(&checked.tip_cents),
                ],
    )
    .await?;
    let updated = lock_visible(tx, caller, OrderRef::Id(order.id)).await?;
    // Staff editing someone's order leave an audit row; an owner's own edits do not.
    if order.user_id != caller.user_id {
        let changes = crate::audit::diff(
            &serde_json::to_value(order)?,
            &serde_json::to_value(&updated)?,
        );
        crate::audit::record(
            tx,
            crate::audit::Entity::Order,
            order.id,
            "UPDATE",
            caller.user_id,
            changes,
            None,
        )
        .await?;
    }
    Ok(updated)
}

/// Cancels a locked order through the status-change function (so its history and its
/// partner hear of it, with the reason) and hides it. Its owner may delete it before it is
/// underway; anyone else needs `DeleteOrders`.
pub async fn delete(
    tx: &Transaction<'_>,
    caller: &Caller,
    order: &Order,
    reason: Option<String>,
) -> ApiResult<()> {
    may_change(caller, order)?;
    if order.user_id != caller.user_id {
        caller.require(Permission::DeleteOrders)?;
    }
    let cancel = StatusChange {
        order: Some(OrderStatus::Cancelled),
        driver: None,
        actor: Actor::User(caller.user_id),
        note: Some(reason.unwrap_or_else(|| "order deleted".to_owned())),
        location: None,
    };
    change_status(tx, order.id, &cancel).await?;
    tx.execute_typed(
        "UPDATE orders SET deleted_at = now() WHERE id = $1",
        &[p(&order.id)],
    )
    .await?;
    if order.user_id != caller.user_id {
        let changes = serde_json::json!({ "deleted": { "from": false, "to": true } });
        crate::audit::record(
            tx,
            crate::audit::Entity::Order,
            order.id,
            "DELETE",
            caller.user_id,
            changes,
            cancel.note.as_deref(),
        )
        .await?;
    }
    tracing::info!(order_id = %order.id, by = %caller.user_id, "order deleted");
    Ok(())
}

/// A status move as `PATCH /api/catering-requests/{orderId}/status` asks for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusUpdate {
    pub status: OrderStatus,
    pub note: Option<String>,
}

/// Moves a locked order: staff make any legal transition; its owner may only cancel it,
/// and only before it is underway.
pub async fn set_status(
    tx: &Transaction<'_>,
    caller: &Caller,
    order: &Order,
    update: &StatusUpdate,
) -> ApiResult<()> {
    let note = Validator::validate(|v| {
        Some(v.optional_text("note", update.note.as_deref(), 1000, Lines::Many))
    })?;
    if !caller.can(Permission::ManageOrders) {
        if update.status != OrderStatus::Cancelled || order.user_id != caller.user_id {
            return Err(ApiError::forbidden("you may only cancel your own orders"));
        }
        may_change(caller, order)?;
    }
    // Completing an order a driver is delivering completes the delivery too: the driver is
    // paid and the customer hears it, as when the driver completes.
    let driver = order
        .driver_status
        .filter(|d| update.status == OrderStatus::Completed && *d != DriverStatus::Completed)
        .map(|_| DriverStatus::Completed);
    let change = StatusChange {
        order: Some(update.status),
        driver,
        actor: Actor::User(caller.user_id),
        note,
        location: None,
    };
    change_status(tx, order.id, &change).await?;
    Ok(())
}
