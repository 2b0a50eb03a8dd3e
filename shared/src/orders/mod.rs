//! Orders: catering requests and on-demand deliveries, one table, one status machine.
//!
//! - [`rules`]: the field and time rules every create and edit obeys, and what an owner
//!   may still change.
//! - [`status`]: the two status graphs and [`status::resolve`].
//! - [`transitions`]: [`change_status`], the only way any route changes an order's
//!   status (history, cancellation reason, and through [`partner_events`] what partners
//!   hear), its one way back [`release_driver`], notes, and reading the history.
//! - [`Order`] and [`ORDER_SELECT`]: how an order reads, with both addresses.
//! - [`Scope`]: which orders a caller may see, as SQL.
//! - [`intake`]: a client's new order; [`create`]: the one insert path; [`edit`]: changes
//!   to a placed order; [`list`]: filtered, paginated, scoped lists.
//! - [`eta`]: the expected times of an order's delivery, as its views show them.

pub mod actions;
pub mod completion;
pub mod create;
pub mod customer_notices;
pub mod edit;
pub mod eta;
pub mod intake;
pub mod list;
pub mod partner_events;
pub mod rules;
pub mod status;
pub mod transitions;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    auth::{Caller, Permission, Role},
    db::{p, FromRow, GenericClient, Param, RowExt},
    error::{ApiError, ApiResult},
    money::{dollars, optional_dollars},
};
use rules::{NeedHost, OrderType, VehicleType};
use status::{DriverStatus, OrderStatus};

pub use transitions::{
    change_status, fail_attempt, history, record_note, release_driver, Actor, ActorType,
    HistoryEntry, StatusChange, StatusChanged,
};

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

/// The order's current dispatch when `user_id` is its driver: (dispatch, driver). Who
/// drives an order may report on it (progress, proofs, a failed attempt); the callers say
/// what refusing means for them.
pub async fn dispatch_driven_by(
    client: &impl GenericClient,
    order_id: Uuid,
    user_id: Uuid,
) -> ApiResult<Option<(Uuid, Uuid)>> {
    client
        .query_typed_opt(
            "SELECT ds.id, ds.driver_id FROM dispatches ds JOIN drivers dr ON dr.id = ds.driver_id
              WHERE ds.order_id = $1 AND ds.unassigned_at IS NULL AND dr.user_id = $2",
            &[p(&order_id), p(&user_id)],
        )
        .await
        .map_err(|e| ApiError::from(e).doing("finding the order's driver"))?
        .map(|row| Ok((row.col("id")?, row.col("driver_id")?)))
        .transpose()
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
