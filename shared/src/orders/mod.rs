//! Orders: catering requests and on-demand deliveries, one table, one status machine.
//!
//! - [`status`]: the two status graphs and [`status::resolve`].
//! - [`change_status`]: the only way any route changes an order's status.
//! - [`Order`] and [`ORDER_SELECT`]: how an order reads, with both addresses.
//! - [`Scope`]: which orders a caller may see, as SQL.
//! - [`create`]: the one insert path; [`list`]: filtered, paginated, scoped lists.

pub mod create;
pub mod intake;
pub mod list;
pub mod status;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    auth::{Caller, Role},
    db::{p, GenericClient, Row, Transaction},
    error::{ApiError, ApiResult},
    outbox::PartnerTarget,
    pricing::dollars,
};
use status::{resolve, DriverStatus, OrderStatus, Transition};

/// Who changed a status, for the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User(Uuid),
    Partner(Uuid),
    System,
}

impl Actor {
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Actor::User(_) => "USER",
            Actor::Partner(_) => "PARTNER",
            Actor::System => "SYSTEM",
        }
    }

    pub(crate) fn id(self) -> Option<Uuid> {
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
/// changes to one order queue here), checks both graphs, updates the order, writes the
/// history row and one outbox row per side effect (partner webhook, CaterValley status
/// call). A refused change writes nothing and is a 409 naming both statuses.
pub async fn change_status(
    tx: &Transaction<'_>,
    order_id: Uuid,
    change: &StatusChange,
) -> ApiResult<StatusChanged> {
    let row = tx
        .query_typed_opt(
            "SELECT o.status, o.driver_status, o.partner_id, o.order_number, o.partner_order_code,
                    ap.order_prefix, ap.webhook_url IS NOT NULL, ap.status_call_url IS NOT NULL
             FROM orders o LEFT JOIN api_partners ap ON ap.id = o.partner_id
             WHERE o.id = $1 AND o.deleted_at IS NULL
             FOR UPDATE OF o",
            &[p(&order_id)],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let from = Transition {
        order: parse_status(row.get(0))?,
        driver: row
            .get::<_, Option<String>>(1)
            .map(|d| d.parse())
            .transpose()
            .map_err(ApiError::internal)?,
    };
    let partner = row
        .get::<_, Option<Uuid>>(2)
        .map(|partner_id| PartnerTarget {
            partner_id,
            order_number: row.get(3),
            order_code: row.get(4),
            order_prefix: row.get::<_, Option<String>>(5).unwrap_or_default(),
            has_webhook: row.get::<_, Option<bool>>(6).unwrap_or(false),
            has_status_call: row.get::<_, Option<bool>>(7).unwrap_or(false),
        });
    let to = resolve(from, change.order, change.driver).map_err(|illegal| {
        ApiError::conflict("illegal_transition", illegal.to_string()).with_details(
            serde_json::json!({
                "from": { "status": illegal.from_order, "driverStatus": illegal.from_driver },
                "to": { "status": illegal.to_order, "driverStatus": illegal.to_driver },
            }),
        )
    })?;
    let to_status = to.order.as_str();
    let to_driver = to.driver.map(DriverStatus::as_str);
    tx.execute_typed(
        "UPDATE orders SET status = $2, driver_status = $3,
                complete_date_time = CASE WHEN $2 = 'COMPLETED' THEN now() ELSE complete_date_time END
         WHERE id = $1",
        &[p(&order_id), p(&to_status), p(&to_driver)],
    )
    .await?;
    let location = change
        .location
        .map(|(lng, lat)| format!("SRID=4326;POINT({lng} {lat})"));
    let from_status = from.order.as_str();
    let from_driver = from.driver.map(DriverStatus::as_str);
    let history_id: i64 = tx
        .query_typed_one(
            "INSERT INTO order_status_history
                (order_id, from_status, to_status, from_driver_status, to_driver_status, actor_id, actor_type, location, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, ST_GeogFromText($8), $9)
             RETURNING id",
            &[
                p(&order_id),
                p(&from_status),
                p(&to_status),
                p(&from_driver),
                p(&to_driver),
                p(&change.actor.id()),
                p(&change.actor.kind()),
                p(&location),
                p(&change.note),
            ],
        )
        .await?
        .get(0);
    if let Some(partner) = &partner {
        crate::outbox::enqueue_status_effects(tx, order_id, partner, from, to, change, history_id)
            .await?;
    }
    Ok(StatusChanged {
        order_id,
        from,
        to,
        history_id,
    })
}

fn parse_status(raw: String) -> ApiResult<OrderStatus> {
    raw.parse().map_err(ApiError::internal)
}

/// Which orders a caller may see: their own (clients, vendors), those currently assigned
/// to them (drivers), or all (staff). Rendered as SQL over `o` so the database enforces it.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub all: bool,
    pub driver: bool,
    pub user_id: Uuid,
}

impl Scope {
    pub fn of(caller: &Caller) -> Self {
        Self {
            all: caller.role.is_staff(),
            driver: caller.role == Role::Driver,
            user_id: caller.user_id,
        }
    }

    /// The condition, with its three parameters at `$n`, `$n+1`, `$n+2`
    /// (bind them with [`Scope::params`]).
    pub fn sql(n: usize) -> String {
        format!(
            "(${a} OR (NOT ${d} AND o.user_id = ${u}) OR (${d} AND EXISTS (
                SELECT 1 FROM dispatches ds JOIN drivers dr ON dr.id = ds.driver_id
                WHERE ds.order_id = o.id AND ds.unassigned_at IS NULL AND dr.user_id = ${u})))",
            a = n,
            d = n + 1,
            u = n + 2
        )
    }
}

/// An address as orders show it.
#[derive(Debug, Clone, Serialize, PartialEq)]
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

/// An order as clients see it; money in dollars, as the original API shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: Uuid,
    pub order_number: String,
    pub order_type: String,
    pub status: OrderStatus,
    pub driver_status: Option<DriverStatus>,
    pub user_id: Uuid,
    pub pickup_address: OrderAddress,
    pub delivery_address: OrderAddress,
    pub pickup_date_time: DateTime<Utc>,
    pub arrival_date_time: DateTime<Utc>,
    pub complete_date_time: Option<DateTime<Utc>>,
    pub brokerage: Option<String>,
    pub client_attention: Option<String>,
    pub pickup_notes: Option<String>,
    pub special_notes: Option<String>,
    pub headcount: Option<i32>,
    pub need_host: Option<String>,
    pub hours_needed: Option<f64>,
    pub number_of_hosts: Option<i32>,
    pub item_delivered: Option<String>,
    pub vehicle_type: Option<String>,
    pub order_total: f64,
    pub tip: f64,
    pub delivery_cost: Option<f64>,
    pub delivery_distance: Option<f64>,
    pub needs_manual_review: bool,
    pub partner_order_code: Option<String>,
    pub cancellation_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Selects [`Order`] columns from `orders o` with both addresses; append `WHERE …`.
pub const ORDER_SELECT: &str = "SELECT o.id, o.order_number, o.order_type, o.status, o.driver_status, o.user_id,
        pa.id, pa.name, pa.street1, pa.street2, pa.city, pa.state, pa.zip, ST_Y(pa.location::geometry), ST_X(pa.location::geometry),
        da.id, da.name, da.street1, da.street2, da.city, da.state, da.zip, ST_Y(da.location::geometry), ST_X(da.location::geometry),
        o.pickup_date_time, o.arrival_date_time, o.complete_date_time, o.brokerage, o.client_attention,
        o.pickup_notes, o.special_notes, o.headcount, o.need_host, o.hours_needed::float8, o.number_of_hosts,
        o.item_delivered, o.vehicle_type, o.order_total_cents, o.tip_cents, o.delivery_fee_cents,
        o.delivery_distance_miles::float8, o.needs_manual_review, o.partner_order_code, o.cancellation_reason,
        o.created_at, o.updated_at
    FROM orders o
    JOIN addresses pa ON pa.id = o.pickup_address_id
    JOIN addresses da ON da.id = o.delivery_address_id";

impl Order {
    pub fn from_row(row: &Row) -> ApiResult<Self> {
        let address = |at: usize| OrderAddress {
            id: row.get(at),
            name: row.get(at + 1),
            street1: row.get(at + 2),
            street2: row.get(at + 3),
            city: row.get(at + 4),
            state: row.get(at + 5),
            zip: row.get(at + 6),
            latitude: row.get(at + 7),
            longitude: row.get(at + 8),
        };
        let driver_status: Option<String> = row.get(4);
        Ok(Self {
            id: row.get(0),
            order_number: row.get(1),
            order_type: row.get(2),
            status: parse_status(row.get(3))?,
            driver_status: driver_status
                .map(|d| d.parse())
                .transpose()
                .map_err(ApiError::internal)?,
            user_id: row.get(5),
            pickup_address: address(6),
            delivery_address: address(15),
            pickup_date_time: row.get(24),
            arrival_date_time: row.get(25),
            complete_date_time: row.get(26),
            brokerage: row.get(27),
            client_attention: row.get(28),
            pickup_notes: row.get(29),
            special_notes: row.get(30),
            headcount: row.get(31),
            need_host: row.get(32),
            hours_needed: row.get(33),
            number_of_hosts: row.get(34),
            item_delivered: row.get(35),
            vehicle_type: row.get(36),
            order_total: dollars(row.get(37)),
            tip: dollars(row.get(38)),
            delivery_cost: row.get::<_, Option<i64>>(39).map(dollars),
            delivery_distance: row.get(40),
            needs_manual_review: row.get(41),
            partner_order_code: row.get(42),
            cancellation_reason: row.get(43),
            created_at: row.get(44),
            updated_at: row.get(45),
        })
    }
}

/// One order by id within the caller's scope.
pub async fn find_visible(
    client: &impl GenericClient,
    caller: &Caller,
    order_id: Uuid,
) -> ApiResult<Option<Order>> {
    let scope = Scope::of(caller);
    let sql = format!(
        "{ORDER_SELECT} WHERE o.id = $1 AND o.deleted_at IS NULL AND {}",
        Scope::sql(2)
    );
    client
        .query_typed_opt(
            &sql,
            &[
                p(&order_id),
                p(&scope.all),
                p(&scope.driver),
                p(&scope.user_id),
            ],
        )
        .await?
        .map(|row| Order::from_row(&row))
        .transpose()
}

/// One history entry, as order views show it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub from_status: Option<String>,
    pub status: String,
    pub from_driver_status: Option<String>,
    pub driver_status: Option<String>,
    pub actor_id: Option<Uuid>,
    pub actor_type: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub note: Option<String>,
    pub timestamp: DateTime<Utc>,
}

/// The newest `limit` history entries of an order, newest first.
pub async fn history(
    client: &impl GenericClient,
    order_id: Uuid,
    limit: i64,
) -> ApiResult<Vec<HistoryEntry>> {
    let rows = client
        .query_typed(
            "SELECT from_status, to_status, from_driver_status, to_driver_status, actor_id, actor_type,
                    ST_Y(location::geometry), ST_X(location::geometry), note, created_at
             FROM order_status_history WHERE order_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
            &[p(&order_id), p(&limit)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| HistoryEntry {
            from_status: r.get(0),
            status: r.get(1),
            from_driver_status: r.get(2),
            driver_status: r.get(3),
            actor_id: r.get(4),
            actor_type: r.get(5),
            latitude: r.get(6),
            longitude: r.get(7),
            note: r.get(8),
            timestamp: r.get(9),
        })
        .collect())
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
