//! An order's history and how it moves: [`change_status`] is the only way any route
//! changes an order's status (the history row, the cancellation reason, the delivery,
//! and through [`super::partner_events`] and [`super::customer_notices`] what partners and
//! customers hear); [`release_driver`] and [`fail_attempt`] are its ways back to dispatch (a
//! driver taken off before the pickup, a delivery that failed after it); [`record_note`] notes an event that changes no status; [`history`] reads it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{
    completion, customer_notices, partner_events,
    status::{self, resolve, DriverStatus, FailureReason, OrderStatus, Transition},
};
use crate::{
    db::{p, FromRow, GenericClient, RowExt, Transaction},
    error::{ApiError, ApiResult, Context},
    text_enum::text_enum,
};

text_enum! {
    /// Who a history entry says made the change.
    pub enum ActorType("actor type") {
        User = "USER",
        Partner = "PARTNER",
        System = "SYSTEM",
    }
}

/// Who changed a status, for the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User(Uuid),
    Partner(Uuid),
    System,
}

impl Actor {
    pub fn kind(self) -> ActorType {
        match self {
            Actor::User(_) => ActorType::User,
            Actor::Partner(_) => ActorType::Partner,
            Actor::System => ActorType::System,
        }
    }

    pub fn id(self) -> Option<Uuid> {
        match self {
            Actor::User(id) | Actor::Partner(id) => Some(id),
            Actor::System => None,
        }
    }
}

/// A requested status change.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub order: Option<OrderStatus>,
    pub driver: Option<DriverStatus>,
    pub actor: Actor,
    /// Why, in the actor's words: kept in the history, and as the order's cancellation
    /// reason when the change cancels it. Staff notes are internal: partners never see
    /// them.
    pub note: Option<String>,
    /// Where it happened (a driver's position), as longitude/latitude.
    pub location: Option<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChanged {
    pub order_id: Uuid,
    pub from: Transition,
    pub to: Transition,
    pub history_id: i64,
}

/// Changes an order's status inside the caller's transaction: locks the row (concurrent
/// changes to one order queue here), checks both graphs, updates the order (with its
/// completion time or cancellation reason) and its current delivery (the driver's pay on
/// completion, [`crate::pay`]), writes the history row and one outbox row per side effect
/// (see [`partner_events`] and [`customer_notices`]). A refused change writes nothing and
/// is a 409 naming both statuses.
#[tracing::instrument(skip_all, fields(%order_id))]
pub async fn change_status(
    tx: &Transaction<'_>,
    order_id: Uuid,
    change: &StatusChange,
) -> ApiResult<StatusChanged> {
    apply(tx, order_id, change, |from| {
        resolve(from, change.order, change.driver)
    })
    .await
}

/// Takes the driver off an order not yet picked up, as [`change_status`] does any other
/// change (history, partner and customer outbox): the driver status clears and the order
/// goes back to what it was before its first driver, and the partner hears
/// `order.unassigned`. The caller closes the dispatch.
#[tracing::instrument(skip_all, fields(%order_id))]
pub async fn release_driver(
    tx: &Transaction<'_>,
    order_id: Uuid,
    actor: Actor,
    note: &str,
) -> ApiResult<StatusChanged> {
    let before: Option<OrderStatus> = tx
        .query_typed_opt(
            "SELECT from_status FROM order_status_history
              WHERE order_id = $1 AND from_driver_status IS NULL AND to_driver_status IS NOT NULL
              ORDER BY id DESC LIMIT 1",
            &[p(&order_id)],
        )
        .await
        .context("reading the order's status before its driver")?
        .map(|row| row.col("from_status"))
        .transpose()?;
    let change = StatusChange {
        order: None,
        driver: None,
        actor,
        note: Some(note.to_owned()),
        location: None,
    };
    let changed = apply(tx, order_id, &change, |from| {
        status::release(from, before.unwrap_or(OrderStatus::Active))
    })
    .await?;
    // The staff's reason is internal: the partner hears that a new driver is to come.
    partner_events::enqueue_event(
        tx,
        order_id,
        Some(changed.history_id),
        partner_events::WebhookEvent::Unassigned,
        serde_json::json!({ "orderStatus": changed.to.order }),
    )
    .await
    .context("queueing what the partner hears")?;
    Ok(changed)
}

/// A failed delivery attempt, written as [`change_status`] writes any change: the driver
/// status clears and the order goes back to dispatch (ACTIVE), with `note` in its
/// history; the partner hears `delivery.failed` with the reason and how many attempts
/// have failed, and the customer is told. The caller closes the dispatch and keeps the
/// attempt's record.
#[tracing::instrument(skip_all, fields(%order_id))]
pub async fn fail_attempt(
    tx: &Transaction<'_>,
    order_id: Uuid,
    actor: Actor,
    note: &str,
    reason: FailureReason,
    attempt: i64,
) -> ApiResult<StatusChanged> {
    let change = StatusChange {
        order: None,
        driver: None,
        actor,
        note: Some(note.to_owned()),
        location: None,
    };
    let changed = apply(tx, order_id, &change, status::fail).await?;
    partner_events::enqueue_event(
        tx,
        order_id,
        Some(changed.history_id),
        partner_events::WebhookEvent::DeliveryFailed,
        serde_json::json!({
            "reason": reason,
            "attempt": attempt,
            "orderStatus": changed.to.order,
        }),
    )
    .await
    .context("queueing what the partner hears")?;
    customer_notices::enqueue_failed(tx, order_id, changed.history_id, reason)
        .await
        .context("queueing what the customer hears")?;
    Ok(changed)
}

/// Locks the order, moves it as `rule` says from where it stands (or refuses with a 409),
/// and writes everything a change writes.
async fn apply(
    tx: &Transaction<'_>,
    order_id: Uuid,
    change: &StatusChange,
    rule: impl FnOnce(Transition) -> Result<Transition, status::IllegalTransition>,
) -> ApiResult<StatusChanged> {
    let row = tx
        .query_typed_opt(
            "SELECT o.status, o.driver_status, o.partner_id, o.order_number, o.partner_order_code,
                    ap.order_prefix,
                    ap.webhook_url IS NOT NULL
                        AND (ap.webhook_events IS NULL OR $2 = ANY(ap.webhook_events)) AS has_webhook,
                    ap.status_call_url IS NOT NULL AS has_status_call
             FROM orders o LEFT JOIN api_partners ap ON ap.id = o.partner_id
             WHERE o.id = $1 AND o.deleted_at IS NULL
             FOR UPDATE OF o",
            &[
                p(&order_id),
                p(&partner_events::WebhookEvent::StatusChanged),
            ],
        )
        .await
        .context("locking the order for a status change")?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let from = Transition {
        order: row.col("status")?,
        driver: row.col("driver_status")?,
    };
    let partner = partner_events::PartnerTarget::from_row(&row)?;
    let to = rule(from).map_err(|illegal| {
        ApiError::conflict("illegal_transition", illegal.to_string()).with_details(
            serde_json::json!({
                "from": { "status": illegal.from_order, "driverStatus": illegal.from_driver },
                "to": { "status": illegal.to_order, "driverStatus": illegal.to_driver },
            }),
        )
    })?;
    // The driver's completion needs the proofs its client or order type asks for. Staff
    // completing the order by its status (order and driver status together) is the way
    // past them, for a delivery whose proofs cannot be had (a locked hand-off code).
    let staff_completion = change.order == Some(OrderStatus::Completed);
    if to.driver == Some(DriverStatus::Completed) && from.driver != to.driver && !staff_completion {
        completion::check(tx, order_id).await?;
    }
    write_status(tx, order_id, to, change.note.as_deref()).await?;
    let history_id = record_transition(tx, order_id, from, to, change).await?;
    // A released driver's delivery stays as it was, with its closed dispatch.
    if let Some(driver) = to.driver.filter(|d| Some(*d) != from.driver) {
        move_delivery(tx, order_id, driver).await?;
    }
    let changed = StatusChanged {
        order_id,
        from,
        to,
        history_id,
    };
    if let Some(partner) = &partner {
        partner_events::enqueue(tx, partner, &changed, change)
            .await
            .context("queueing what the partner hears")?;
    }
    customer_notices::enqueue(tx, &changed)
        .await
        .context("queueing what the customer hears")?;
    Ok(changed)
}

/// The order's new statuses, with its completion time or its cancellation reason.
async fn write_status(
    tx: &Transaction<'_>,
    order_id: Uuid,
    to: Transition,
    note: Option<&str>,
) -> ApiResult<()> {
    tx.execute_typed(
        "UPDATE orders SET status = $2, driver_status = $3,
                complete_date_time = CASE WHEN $5 THEN now() ELSE complete_date_time END,
                cancellation_reason = CASE WHEN $6 THEN $4 ELSE cancellation_reason END
         WHERE id = $1",
        &[
            p(&order_id),
            p(&to.order),
            p(&to.driver),
            p(&note),
            p(&(to.order == OrderStatus::Completed)),
            p(&(to.order == OrderStatus::Cancelled)),
        ],
    )
    .await
    .context("updating the order's status")?;
    Ok(())
}

/// The history row of a transition: who, from what, to what, where and why.
async fn record_transition(
    tx: &Transaction<'_>,
    order_id: Uuid,
    from: Transition,
    to: Transition,
    change: &StatusChange,
) -> ApiResult<i64> {
    let location = change
        .location
        .map(|(lng, lat)| format!("SRID=4326;POINT({lng} {lat})"));
    tx.query_typed_one(
        "INSERT INTO order_status_history
            (order_id, from_status, to_status, from_driver_status, to_driver_status, actor_id, actor_type, location, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, ST_GeogFromText($8), $9)
         RETURNING id",
        &[
            p(&order_id),
            p(&from.order),
            p(&to.order),
            p(&from.driver),
            p(&to.driver),
            p(&change.actor.id()),
            p(&change.actor.kind()),
            p(&location),
            p(&change.note),
        ],
    )
    .await
    .context("recording the status history")?
    .col("id")
}

/// The current driver's delivery follows the driver status, keeping when it reached and
/// left the pickup and reached the drop-off (the stops' service times in
/// [`crate::on_time`]); on completion the driver's pay is recorded.
async fn move_delivery(
    tx: &Transaction<'_>,
    order_id: Uuid,
    driver: DriverStatus,
) -> ApiResult<()> {
    tx.execute_typed(
        "UPDATE deliveries d SET status = $2,
                pickup_arrival = CASE WHEN $2 = 'ARRIVED_AT_VENDOR' THEN now() ELSE d.pickup_arrival END,
                picked_up_at = CASE WHEN $2 = 'PICKED_UP' THEN now() ELSE d.picked_up_at END,
                actual_arrival = CASE WHEN $2 = 'ARRIVED_TO_CLIENT' THEN now() ELSE d.actual_arrival END
           FROM dispatches ds
          WHERE ds.order_id = $1 AND ds.unassigned_at IS NULL AND d.dispatch_id = ds.id",
        &[p(&order_id), p(&driver)],
    )
    .await
    .context("moving the delivery")?;
    if driver == DriverStatus::Completed {
        crate::pay::record(tx, order_id).await?;
    }
    Ok(())
}

/// Records an event in an order's history that changes neither status (a driver
/// reassigned), with who did it and why.
pub async fn record_note(
    tx: &Transaction<'_>,
    order_id: Uuid,
    actor: Actor,
    note: &str,
) -> ApiResult<i64> {
    tx.query_typed_one(
        "INSERT INTO order_status_history
            (order_id, from_status, to_status, from_driver_status, to_driver_status, actor_id, actor_type, note)
         SELECT id, status, status, driver_status, driver_status, $2, $3, $4 FROM orders WHERE id = $1
         RETURNING id",
        &[p(&order_id), p(&actor.id()), p(&actor.kind()), p(&note)],
    )
    .await
    .context("recording the order's history")?
    .col("id")
}

/// One history entry, as order views show it.
#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub from_status: Option<OrderStatus>,
    #[row(rename = "to_status")]
    pub status: OrderStatus,
    pub from_driver_status: Option<DriverStatus>,
    #[row(rename = "to_driver_status")]
    pub driver_status: Option<DriverStatus>,
    pub actor_id: Option<Uuid>,
    pub actor_type: ActorType,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub note: Option<String>,
    #[row(rename = "created_at")]
    pub timestamp: DateTime<Utc>,
}

/// The newest `limit` history entries of an order, newest first.
#[tracing::instrument(skip_all, fields(%order_id))]
pub async fn history(
    client: &impl GenericClient,
    order_id: Uuid,
    limit: i64,
) -> ApiResult<Vec<HistoryEntry>> {
    let rows = client
        .query_typed(
            "SELECT from_status, to_status, from_driver_status, to_driver_status, actor_id, actor_type,
                    ST_Y(location::geometry) AS latitude, ST_X(location::geometry) AS longitude, note, created_at
             FROM order_status_history WHERE order_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
            &[p(&order_id), p(&limit)],
        )
        .await?;
    HistoryEntry::from_rows(&rows)
}
