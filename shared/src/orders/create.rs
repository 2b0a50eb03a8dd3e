//! Creating orders: one insert path for catering requests, on-demand orders and partner
//! drafts.

use chrono::Utc;
use serde_json::Value;
use uuid::Uuid;

use super::{
    rules::{OrderDetails, OrderNotes, Schedule},
    status::OrderStatus,
    Actor,
};
use crate::{
    db::{p, RowExt, Transaction},
    error::{ApiError, ApiResult},
};

/// The partner an order came from, and its own code for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerOrigin {
    pub partner_id: Uuid,
    pub order_code: String,
}

/// The price a partner order was drafted at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priced {
    pub delivery_fee_cents: i64,
    pub configuration_id: Uuid,
}

/// Everything an order row needs.
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// A fixed number (partners' `prefix + orderCode`); generated when `None`.
    pub order_number: Option<String>,
    pub user_id: Uuid,
    pub partner: Option<PartnerOrigin>,
    pub pickup_address_id: Uuid,
    pub delivery_address_id: Uuid,
    pub status: OrderStatus,
    pub schedule: Schedule,
    pub notes: OrderNotes,
    pub details: OrderDetails,
    pub order_total_cents: i64,
    pub tip_cents: i64,
    pub priced: Option<Priced>,
    pub distance_hundredths: Option<i64>,
    pub needs_manual_review: bool,
    pub metadata: Value,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inserted {
    pub id: Uuid,
    pub order_number: String,
    /// The caller's Idempotency-Key already made this order: nothing new was written.
    pub existing: bool,
}

const INSERT: &str = "INSERT INTO orders (order_number, order_type, user_id, partner_id, partner_order_code,
        pickup_address_id, delivery_address_id, status, pickup_date_time, arrival_date_time, brokerage,
        client_attention, pickup_notes, special_notes, headcount, need_host, hours_needed, number_of_hosts,
        item_delivered, vehicle_type, length_in, width_in, height_in, weight_lb, order_total_cents, tip_cents,
        delivery_fee_cents, delivery_distance_miles, pricing_configuration_id, needs_manual_review, metadata,
        idempotency_key)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
        $22, $23, $24, $25, $26, $27, $28::numeric / 100, $29, $30, $31, $32)
    ON CONFLICT DO NOTHING
    RETURNING id";

/// Inserts the order and its first history row. A generated number that collides is
/// replaced (up to five tries); a fixed one that is taken is a 409. With an idempotency
/// key the caller already used, the existing order is returned instead (409 if it has
/// been deleted since).
///
/// The insert does nothing on any conflict of the orders table's two unique indexes (the
/// number, and the caller's idempotency key), so a collision needs no savepoint to keep
/// the transaction alive, and a first use of a key no lookup before it: only an insert
/// that made no row asks which of the two it met.
#[tracing::instrument(name = "insert_order", skip_all)]
pub async fn insert(tx: &Transaction<'_>, order: &NewOrder, actor: Actor) -> ApiResult<Inserted> {
    let order_type = order.details.order_type();
    for _ in 0..5 {
        let number = order
            .order_number
            .clone()
            .unwrap_or_else(|| super::new_order_number(order_type.number_prefix(), Utc::now()));
        let inserted = insert_row(tx, order, &number)
            .await
            .map_err(|err| ApiError::from(err).doing("inserting the order"))?;
        if let Some(row) = inserted {
            let id: Uuid = row.col("id")?;
            tx.execute_typed(
                "INSERT INTO order_status_history (order_id, to_status, actor_id, actor_type, note)
                 VALUES ($1, $2, $3, $4, 'created')",
                &[p(&id), p(&order.status), p(&actor.id()), p(&actor.kind())],
            )
            .await?;
            return Ok(Inserted {
                id,
                order_number: number,
                existing: false,
            });
        }
        // The key's order, committed first by this request's earlier try or a racing one.
        if let Some(key) = &order.idempotency_key {
            if let Some(existing) = by_idempotency_key(tx, order.user_id, key).await? {
                return Ok(existing);
            }
        }
        // Otherwise the number is taken.
        if order.order_number.is_some() {
            return Err(ApiError::conflict(
                "order_exists",
                format!("order {number} already exists"),
            ));
        }
    }
    Err(ApiError::service_unavailable(
        "could not allocate an order number; retry",
    ))
}

/// One INSERT of the order under `number`: its id, or none when an order with its
/// idempotency key was committed first.
async fn insert_row(
    tx: &Transaction<'_>,
    order: &NewOrder,
    number: &str,
) -> Result<Option<tokio_postgres::Row>, tokio_postgres::Error> {
    let (catering, on_demand) = match &order.details {
        OrderDetails::Catering(c) => (Some(c), None),
        OrderDetails::OnDemand(d) => (None, Some(d)),
    };
    tx.query_typed_opt(
        INSERT,
        &[
            p(&number),
            p(&order.details.order_type()),
            p(&order.user_id),
            p(&order.partner.as_ref().map(|p| p.partner_id)),
            p(&order.partner.as_ref().map(|p| p.order_code.as_str())),
            p(&order.pickup_address_id),
            p(&order.delivery_address_id),
            p(&order.status),
            p(&order.schedule.pickup_at),
            p(&order.schedule.arrival_at),
            p(&order.notes.brokerage),
            p(&order.notes.client_attention),
            p(&order.notes.pickup_notes),
            p(&order.notes.special_notes),
            p(&catering.map(|c| c.headcount)),
            p(&catering.map(|c| c.need_host)),
            p(&catering.and_then(|c| c.hours_needed)),
            p(&catering.map(|c| c.number_of_hosts)),
            p(&on_demand.map(|d| d.item_delivered.as_str())),
            p(&on_demand.map(|d| d.vehicle_type)),
            p(&on_demand.and_then(|d| d.length)),
            p(&on_demand.and_then(|d| d.width)),
            p(&on_demand.and_then(|d| d.height)),
            p(&on_demand.and_then(|d| d.weight)),
            p(&order.order_total_cents),
            p(&order.tip_cents),
            p(&order.priced.map(|p| p.delivery_fee_cents)),
            p(&order.distance_hundredths),
            p(&order.priced.map(|p| p.configuration_id)),
            p(&order.needs_manual_review),
            p(&order.metadata),
            p(&order.idempotency_key),
        ],
    )
    .await
}

/// The order an earlier create with this idempotency key made, if any. A key whose order
/// was deleted since is spent: 409, never a second order.
pub async fn by_idempotency_key(
    tx: &Transaction<'_>,
    user_id: Uuid,
    key: &str,
) -> ApiResult<Option<Inserted>> {
    let Some(row) = tx
        .query_typed_opt(
            "SELECT id, order_number, deleted_at IS NOT NULL AS deleted FROM orders
             WHERE user_id = $1 AND idempotency_key = $2",
            &[p(&user_id), p(&key)],
        )
        .await?
    else {
        return Ok(None);
    };
    if row.col::<bool>("deleted")? {
        return Err(ApiError::conflict(
            "order_deleted",
            "the order created with this Idempotency-Key has since been deleted",
        ));
    }
    Ok(Some(Inserted {
        id: row.col("id")?,
        order_number: row.col("order_number")?,
        existing: true,
    }))
}
