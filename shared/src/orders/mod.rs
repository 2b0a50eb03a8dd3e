//! Orders: catering requests and on-demand deliveries, one table, one status machine.
//!
//! - [`rules`]: the field and time rules every create and edit obeys, and what an owner
//!   may still change.
//! - [`status`]: the two status graphs and [`status::resolve`].
//! - [`change_status`]: the only way any route changes an order's status; it records the
//!   history, the cancellation reason and (through [`partner_events`]) what partners hear.
//!   [`release_driver`] is its one way back: a driver taken off before the pickup.
//! - [`Order`] and [`ORDER_SELECT`]: how an order reads, with both addresses.
//! - [`Scope`]: which orders a caller may see, as SQL.
//! - [`intake`]: a client's new order; [`create`]: the one insert path; [`edit`]: changes
//!   to a placed order; [`list`]: filtered, paginated, scoped lists.
//! - [`eta`]: the expected times of an order's delivery, as its views show them.

pub mod actions;
pub mod create;
pub mod customer_notices;
pub mod edit;
pub mod eta;
pub mod intake;
pub mod list;
pub mod partner_events;
pub mod rules;
pub mod status;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    auth::{Caller, Permission, Role},
    db::{p, FromRow, GenericClient, Param, RowExt, Transaction},
    error::{ApiError, ApiResult, Context},
    money::{dollars, optional_dollars},
    text_enum::text_enum,
};
use rules::{NeedHost, OrderType, VehicleType};
use status::{resolve, DriverStatus, OrderStatus, Transition};

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

/// The current driver's delivery follows the driver status (its arrival time on
/// arriving); on completion the driver's pay is recorded.
async fn move_delivery(
    tx: &Transaction<'_>,
    order_id: Uuid,
    driver: DriverStatus,
) -> ApiResult<()> {
    tx.execute_typed(
        "UPDATE deliveries d SET status = $2,
                actual_arrival = CASE WHEN $3 THEN now() ELSE d.actual_arrival END
           FROM dispatches ds
          WHERE ds.order_id = $1 AND ds.unassigned_at IS NULL AND d.dispatch_id = ds.id",
        &[
            p(&order_id),
            p(&driver),
            p(&(driver == DriverStatus::ArrivedToClient)),
        ],
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

/// Which orders a caller may see: those they placed, those dispatched to them (drivers
/// only), or all (callers with `ViewAllOrders`). Rendered as SQL over `o` so the database
/// enforces it.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub all: bool,
    /// Sees the orders currently dispatched to them: drivers, and only while they are.
    pub dispatched: bool,
    pub user_id: Uuid,
}

impl Scope {
    pub fn of(caller: &Caller) -> Self {
        Self {
            all: caller.can(Permission::ViewAllOrders),
            dispatched: caller.role == Role::Driver,
            user_id: caller.user_id,
        }
    }

    /// The condition, with its three parameters at `$n`, `$n+1`, `$n+2` (bind them with
    /// [`Scope::params`]). It is written for this kind of caller alone, leaving out the
    /// parameters it does not need: each kind then has a statement of its own, which
    /// PostgreSQL plans once for all callers of that kind (a generic plan) with the right
    /// index, where one catch-all condition would be planned again on every call.
    pub fn sql(&self, n: usize) -> String {
        let user = n + 2;
        if self.all {
            "TRUE".into()
        } else if self.dispatched {
            format!(
                "(o.user_id = ${user} OR EXISTS (
                    SELECT 1 FROM dispatches ds JOIN drivers dr ON dr.id = ds.driver_id
                    WHERE ds.order_id = o.id AND ds.unassigned_at IS NULL AND dr.user_id = ${user}))"
            )
        } else {
            format!("o.user_id = ${user}")
        }
    }

    /// The parameters of [`Scope::sql`], in order.
    pub fn params(&self) -> [Param<'_>; 3] {
        [p(&self.all), p(&self.dispatched), p(&self.user_id)]
    }
}

/// An address as orders show it.
#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct OrderAddress {
    pub id: Uuid,
    pub name: Option<String>,
    pub street1: String,
    pub street2: Option<String>,
    pub city: String,
    pub state: String,
    pub zip: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// An order as clients see it; money in dollars, as the original API shows it. Read from
/// a row selected with [`ORDER_SELECT`].
#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: Uuid,
    pub order_number: String,
    pub order_type: OrderType,
    pub status: OrderStatus,
    pub driver_status: Option<DriverStatus>,
    pub user_id: Uuid,
    #[row(flatten, prefix = "pickup_")]
    pub pickup_address: OrderAddress,
    #[row(flatten, prefix = "delivery_")]
    pub delivery_address: OrderAddress,
    pub pickup_date_time: DateTime<Utc>,
    pub arrival_date_time: DateTime<Utc>,
    pub complete_date_time: Option<DateTime<Utc>>,
    pub brokerage: Option<String>,
    pub client_attention: Option<String>,
    pub pickup_notes: Option<String>,
    pub special_notes: Option<String>,
    pub headcount: Option<i32>,
    pub need_host: Option<NeedHost>,
    pub hours_needed: Option<f64>,
    pub number_of_hosts: Option<i32>,
    pub item_delivered: Option<String>,
    pub vehicle_type: Option<VehicleType>,
    #[row(rename = "order_total_cents", with = dollars)]
    pub order_total: f64,
    #[row(rename = "tip_cents", with = dollars)]
    pub tip: f64,
    #[row(rename = "delivery_fee_cents", with = optional_dollars)]
    pub delivery_cost: Option<f64>,
    #[row(rename = "delivery_distance_miles")]
    pub delivery_distance: Option<f64>,
    pub needs_manual_review: bool,
    pub partner_order_code: Option<String>,
    pub cancellation_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Selects [`Order`] columns from `orders o` with both addresses; append `WHERE …`.
pub const ORDER_SELECT: &str = "SELECT o.id, o.order_number, o.order_type, o.status, o.driver_status, o.user_id,
        pa.id AS pickup_id, pa.name AS pickup_name, pa.street1 AS pickup_street1, pa.street2 AS pickup_street2,
        pa.city AS pickup_city, pa.state AS pickup_state, pa.zip AS pickup_zip,
        ST_Y(pa.location::geometry) AS pickup_latitude, ST_X(pa.location::geometry) AS pickup_longitude,
        da.id AS delivery_id, da.name AS delivery_name, da.street1 AS delivery_street1, da.street2 AS delivery_street2,
        da.city AS delivery_city, da.state AS delivery_state, da.zip AS delivery_zip,
        ST_Y(da.location::geometry) AS delivery_latitude, ST_X(da.location::geometry) AS delivery_longitude,
        o.pickup_date_time, o.arrival_date_time, o.complete_date_time, o.brokerage, o.client_attention,
        o.pickup_notes, o.special_notes, o.headcount, o.need_host, o.hours_needed::float8 AS hours_needed,
        o.number_of_hosts, o.item_delivered, o.vehicle_type, o.order_total_cents, o.tip_cents, o.delivery_fee_cents,
        o.delivery_distance_miles::float8 AS delivery_distance_miles, o.needs_manual_review, o.partner_order_code,
        o.cancellation_reason, o.created_at, o.updated_at
    FROM orders o
    JOIN addresses pa ON pa.id = o.pickup_address_id
    JOIN addresses da ON da.id = o.delivery_address_id";

/// One order by id within the caller's scope.
#[tracing::instrument(skip_all, fields(%order_id))]
pub async fn find_visible(
    client: &impl GenericClient,
    caller: &Caller,
    order_id: Uuid,
) -> ApiResult<Option<Order>> {
    let scope = Scope::of(caller);
    let sql = format!(
        "{ORDER_SELECT} WHERE o.id = $1 AND o.deleted_at IS NULL AND {}",
        scope.sql(2)
    );
    let [all, dispatched, user] = scope.params();
    client
        .query_typed_opt(&sql, &[p(&order_id), all, dispatched, user])
        .await?
        .map(|row| Order::from_row(&row))
        .transpose()
}

/// An order by number placed by `owner` (any owner when `None`): the single-order views
/// of one's own and of a vendor's orders, where another's order is a 404.
#[tracing::instrument(skip_all)]
pub async fn find_owned(
    client: &impl GenericClient,
    order_number: &str,
    owner: Option<Uuid>,
) -> ApiResult<Order> {
    let sql = format!(
        "{ORDER_SELECT} WHERE o.order_number = $1 AND o.deleted_at IS NULL AND ($2::uuid IS NULL OR o.user_id = $2)"
    );
    client
        .query_typed_opt(&sql, &[p(&order_number), p(&owner)])
        .await?
        .map(|row| Order::from_row(&row))
        .transpose()?
        .ok_or_else(|| ApiError::not_found("order"))
}

/// The id of an order the caller may see, by number or id (lists of what belongs to an
/// order need no more of it).
pub async fn visible_id(
    client: &impl GenericClient,
    caller: &Caller,
    order: edit::OrderRef<'_>,
) -> ApiResult<Option<Uuid>> {
    let (by_number, by_id) = order.parts();
    let scope = Scope::of(caller);
    let sql = format!(
        "SELECT o.id FROM orders o
          WHERE (o.order_number = $1 OR o.id = $2) AND o.deleted_at IS NULL AND {}",
        scope.sql(3)
    );
    let [all, dispatched, user] = scope.params();
    client
        .query_typed_opt(&sql, &[p(&by_number), p(&by_id), all, dispatched, user])
        .await?
        .map(|row| row.col("id"))
        .transpose()
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

/// Checks an order number from a path: 1 to 64 of `A-Z a-z 0-9 - _ .`, nothing else.
pub fn parse_order_number(raw: &str) -> ApiResult<String> {
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(ApiError::bad_request(
            "invalid_order_number",
            "the order number is not valid",
        ))
    }
}

/// A new order number: the type's prefix, the date and five random characters
/// (`CR-261127-7K3Q9`). Collisions are caught by the unique index and retried.
pub fn new_order_number(prefix: &str, now: DateTime<Utc>) -> String {
    use rand::RngExt;
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut rng = rand::rng();
    let suffix: String = (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}-{}-{suffix}", now.format("%y%m%d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers() {
        let n = new_order_number(
            "CR",
            DateTime::from_timestamp(1_795_780_800, 0).expect("time"),
        );
        assert!(n.starts_with("CR-261127-") && n.len() == 15, "{n}");
        assert_eq!(parse_order_number(&n).expect("valid"), n);
        for bad in ["", "CV 1", "CV-1;DROP", "CV/1", "é", &"A".repeat(65)] {
            assert!(parse_order_number(bad).is_err(), "{bad:?}");
        }
    }
}
