//! The transactional outbox: side effects of status changes, written in the same
//! transaction as the change and delivered after commit by the `outbox-relay` function.
//!
//! - [`enqueue_status_effects`]: called by the one status-change function; one message
//!   per side effect (a partner lifecycle webhook, CaterValley's status call).
//! - [`relay`]: picks due messages (`FOR UPDATE SKIP LOCKED`, in order per order), delivers
//!   them signed, records every attempt, retries with back-off and jitter up to a horizon,
//!   then marks the message dead.
//! - [`destination`]: the SSRF guard every outbound URL passes.
//!
//! Delivery is at least once: every message carries a stable `eventId` (body and
//! `x-readyset-event-id` header) so a receiver can drop duplicates.

pub mod destination;
pub mod relay;

use chrono::Utc;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    db::{p, Transaction},
    error::ApiResult,
    orders::{
        status::{catervalley_status, partner_lifecycle, Transition},
        StatusChange,
    },
};

pub const PARTNER_WEBHOOK: &str = "PARTNER_WEBHOOK";
pub const CATERVALLEY_STATUS: &str = "CATERVALLEY_STATUS";

/// What the status-change function knows about the order's partner, if it has one.
#[derive(Debug, Clone)]
pub struct PartnerTarget {
    pub partner_id: Uuid,
    pub order_prefix: String,
    pub order_number: String,
    pub order_code: Option<String>,
    pub has_webhook: bool,
    pub has_status_call: bool,
}

/// Writes one message per side effect of a status change, inside its transaction.
/// Returns how many were written.
pub async fn enqueue_status_effects(
    tx: &Transaction<'_>,
    order_id: Uuid,
    partner: &PartnerTarget,
    from: Transition,
    to: Transition,
    change: &StatusChange,
    history_id: i64,
) -> ApiResult<usize> {
    let mut written = 0;
    let now = Utc::now();
    let lifecycle = partner_lifecycle(to.order, to.driver);
    if partner.has_webhook
        && lifecycle.is_some()
        && lifecycle != partner_lifecycle(from.order, from.driver)
    {
        let event_id = Uuid::new_v4();
        let mut payload = json!({
            "eventId": event_id,
            "orderId": order_id,
            "orderCode": partner.order_code,
            "orderNumber": partner.order_number,
            "status": lifecycle,
            "timestamp": now,
        });
        if let Some(driver) = current_driver(tx, order_id).await? {
            payload["driver"] = driver;
        }
        if let Some((lng, lat)) = change.location {
            payload["location"] = json!({ "lat": lat, "lng": lng });
        }
        if let Some(note) = &change.note {
            payload["notes"] = json!(note);
        }
        insert(
            tx,
            event_id,
            PARTNER_WEBHOOK,
            order_id,
            partner.partner_id,
            history_id,
            &payload,
        )
        .await?;
        written += 1;
    }
    let legacy = catervalley_status(to.order, to.driver);
    if partner.has_status_call
        && legacy.is_some()
        && legacy != catervalley_status(from.order, from.driver)
    {
        let event_id = Uuid::new_v4();
        let number = partner
            .order_number
            .strip_prefix(&partner.order_prefix)
            .unwrap_or(&partner.order_number);
        let payload = json!({ "orderNumber": number, "status": legacy, "timestamp": now });
        insert(
            tx,
            event_id,
            CATERVALLEY_STATUS,
            order_id,
            partner.partner_id,
            history_id,
            &payload,
        )
        .await?;
        written += 1;
    }
    Ok(written)
}

async fn insert(
    tx: &Transaction<'_>,
    event_id: Uuid,
    kind: &str,
    order_id: Uuid,
    partner_id: Uuid,
    history_id: i64,
    payload: &Value,
) -> ApiResult<()> {
    tx.execute_typed(
        "INSERT INTO outbox (event_id, kind, order_id, partner_id, history_id, payload) VALUES ($1, $2, $3, $4, $5, $6)",
        &[p(&event_id), p(&kind), p(&order_id), p(&partner_id), p(&history_id), p(payload)],
    )
    .await?;
    Ok(())
}

/// The driver currently dispatched to the order, as partners see them.
async fn current_driver(tx: &Transaction<'_>, order_id: Uuid) -> ApiResult<Option<Value>> {
    let row = tx
        .query_typed_opt(
            "SELECT u.name, coalesce(dr.phone, u.phone) FROM dispatches ds
             JOIN drivers dr ON dr.id = ds.driver_id JOIN users u ON u.id = dr.user_id
             WHERE ds.order_id = $1 AND ds.unassigned_at IS NULL",
            &[p(&order_id)],
        )
        .await?;
    Ok(row.map(|r| json!({ "name": r.get::<_, Option<String>>(0), "phone": r.get::<_, Option<String>>(1) })))
}
