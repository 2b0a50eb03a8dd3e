//! Creating orders: one insert path for catering requests, on-demand orders and partner
//! drafts.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::{status::OrderStatus, Actor};
use crate::{
    db::{p, Transaction},
    error::{ApiError, ApiResult},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderType {
    Catering,
    OnDemand,
}

impl OrderType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Catering => "CATERING",
            OrderType::OnDemand => "ON_DEMAND",
        }
    }

    /// Prefix of generated order numbers.
    pub fn number_prefix(self) -> &'static str {
        match self {
            OrderType::Catering => "CR",
            OrderType::OnDemand => "OD",
        }
    }
}

/// Everything an order row needs. Type-specific fields are `None` for the other type.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub order_type: OrderType,
    /// A fixed number (partners' `prefix + orderCode`); generated when `None`.
    pub order_number: Option<String>,
    pub user_id: Uuid,
    pub partner_id: Option<Uuid>,
    pub partner_order_code: Option<String>,
    pub pickup_address_id: Uuid,
    pub delivery_address_id: Uuid,
    pub status: OrderStatus,
    pub pickup_at: DateTime<Utc>,
    pub arrival_at: DateTime<Utc>,
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
    pub dimensions: [Option<f64>; 4],
    pub order_total_cents: i64,
    pub tip_cents: i64,
    pub delivery_fee_cents: Option<i64>,
    pub distance_hundredths: Option<i64>,
    pub pricing_configuration_id: Option<Uuid>,
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
    ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id";

/// Inserts the order and its first history row. A generated number that collides is
/// replaced (up to five tries); a fixed one that is taken is a 409. With an idempotency
/// key the caller already used, the existing order is returned instead.
pub async fn insert(
    tx: &mut Transaction<'_>,
    order: &NewOrder,
    actor: Actor,
) -> ApiResult<Inserted> {
    if let Some(key) = &order.idempotency_key {
        if let Some(existing) = by_idempotency_key(tx, order.user_id, key).await? {
            return Ok(existing);
        }
    }
    for _ in 0..5 {
        let number = order.order_number.clone().unwrap_or_else(|| {
            super::new_order_number(order.order_type.number_prefix(), Utc::now())
        });
        // A savepoint, so a collision does not abort the caller's transaction.
        let attempt = tx.transaction().await?;
        let inserted = attempt
            .query_typed_opt(
                INSERT,
                &[
                    p(&number),
                    p(&order.order_type.as_str()),
                    p(&order.user_id),
                    p(&order.partner_id),
                    p(&order.partner_order_code),
                    p(&order.pickup_address_id),
                    p(&order.delivery_address_id),
                    p(&order.status.as_str()),
                    p(&order.pickup_at),
                    p(&order.arrival_at),
                    p(&order.brokerage),
                    p(&order.client_attention),
                    p(&order.pickup_notes),
                    p(&order.special_notes),
                    p(&order.headcount),
                    p(&order.need_host),
                    p(&order.hours_needed),
                    p(&order.number_of_hosts),
                    p(&order.item_delivered),
                    p(&order.vehicle_type),
                    p(&order.dimensions[0]),
                    p(&order.dimensions[1]),
                    p(&order.dimensions[2]),
                    p(&order.dimensions[3]),
                    p(&order.order_total_cents),
                    p(&order.tip_cents),
                    p(&order.delivery_fee_cents),
                    p(&order.distance_hundredths),
                    p(&order.pricing_configuration_id),
                    p(&order.needs_manual_review),
                    p(&order.metadata),
                    p(&order.idempotency_key),
                ],
            )
            .await;
        match inserted {
            Ok(Some(row)) => {
                attempt.commit().await?;
                let id: Uuid = row.get(0);
                tx.execute_typed(
                    "INSERT INTO order_status_history (order_id, to_status, actor_id, actor_type, note)
                     VALUES ($1, $2, $3, $4, 'created')",
                    &[p(&id), p(&order.status.as_str()), p(&actor.id()), p(&actor.kind())],
                )
                .await?;
                return Ok(Inserted {
                    id,
                    order_number: number,
                    existing: false,
                });
            }
            Ok(None) => {
                // Another request with the same idempotency key committed first.
                attempt.commit().await?;
                let key = order.idempotency_key.as_deref().unwrap_or_default();
                return by_idempotency_key(tx, order.user_id, key)
                    .await?
                    .ok_or_else(|| ApiError::internal("idempotent order vanished"));
            }
            Err(err) if is_number_collision(&err) => {
                attempt.rollback().await?;
                if order.order_number.is_some() {
                    return Err(ApiError::conflict(
                        "order_exists",
                        format!("order {number} already exists"),
                    ));
                }
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(ApiError::service_unavailable(
        "could not allocate an order number; retry",
    ))
}

fn is_number_collision(err: &tokio_postgres::Error) -> bool {
    err.as_db_error()
        .is_some_and(|e| e.constraint() == Some("orders_order_number_key"))
}

/// The order an earlier create with this idempotency key made, if any.
pub async fn by_idempotency_key(
    tx: &Transaction<'_>,
    user_id: Uuid,
    key: &str,
) -> ApiResult<Option<Inserted>> {
    Ok(tx
        .query_typed_opt(
            "SELECT id, order_number FROM orders WHERE user_id = $1 AND idempotency_key = $2",
            &[p(&user_id), p(&key)],
        )
        .await?
        .map(|row| Inserted {
            id: row.get(0),
            order_number: row.get(1),
            existing: true,
        }))
}
