//! The transactional outbox: side effects of status changes, written in the same
//! transaction as the change and delivered after commit by the `outbox-relay` function.
//!
//! - [`enqueue`]: stores one message; what to send is decided by the caller (see
//!   `orders::partner_events`), so this module knows nothing of orders.
//! - [`relay`]: picks due messages (`FOR UPDATE SKIP LOCKED`, in order per order), delivers
//!   them signed, records every attempt, retries with back-off and jitter up to a horizon,
//!   then marks the message dead.
//! - [`signature`]: how webhook deliveries are signed, and how a receiver checks them.
//! - [`email`]: customer emails (`{to, subject, text}` payloads) sent through SES; [`sms`]:
//!   customer texts through SNS, to numbers not on [`opt_outs`]; [`customer`]: what both
//!   share (the tracking link each carries, signed as it is sent).
//! - [`destination`]: the SSRF guard every outbound URL passes.
//! - [`admin`]: what operators see of deliveries, and re-queuing dead messages;
//!   [`retention`]: how long they see them.
//! - [`wake`]: after a request whose transaction enqueued messages has answered, the relay
//!   is invoked at once, so partners hear in seconds; its schedule is the safety net.
//!
//! Delivery is at least once: every message carries a stable `eventId` (body and
//! `x-readyset-event-id` header) so a receiver can drop duplicates.

pub mod admin;
pub mod customer;
pub mod destination;
pub mod email;
pub mod opt_outs;
pub mod relay;
pub mod retention;
pub mod signature;
pub mod sms;
pub mod wake;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    db::{p, Transaction},
    error::ApiResult,
    text_enum::text_enum,
};

text_enum! {
    /// What a message is and where it goes.
    pub enum OutboxKind("message kind") {
        /// A lifecycle webhook to the partner's webhook URL.
        PartnerWebhook = "PARTNER_WEBHOOK",
        /// CaterValley's legacy status call.
        CatervalleyStatus = "CATERVALLEY_STATUS",
        /// An email to the order's customer, through SES.
        CustomerEmail = "CUSTOMER_EMAIL",
        /// An auto-dispatch `driver.offer` event to the driver push channel
        /// (`DRIVER_PUSH_URL`), signed like a partner webhook.
        DriverPush = "DRIVER_PUSH",
        /// A text to the order's customer, through SNS (`CUSTOMER_SMS` on).
        CustomerSms = "CUSTOMER_SMS",
    }
}

text_enum! {
    pub enum MessageStatus("message status") {
        Pending = "PENDING",
        Delivered = "DELIVERED",
        Dead = "DEAD",
        /// Nowhere or no one to deliver it to (a driver push without a push channel, a
        /// text while texts are off or to a number that opted out): on record, never sent.
        Skipped = "SKIPPED",
    }
}

/// A message to deliver after the transaction commits.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub event_id: Uuid,
    pub kind: OutboxKind,
    /// The order it is about; none only for a customer email no order carries (a
    /// recurring order's date that could not be placed).
    pub order_id: Option<Uuid>,
    /// The partner it goes to; none for customer emails and texts and driver pushes.
    pub partner_id: Option<Uuid>,
    /// The history row that caused it, if one did (an ETA's move is not in the history).
    pub history_id: Option<i64>,
    pub payload: Value,
    /// After this it is not worth sending (a push about an offer that has lapsed); none:
    /// the relay's horizon.
    pub retry_until: Option<DateTime<Utc>>,
}

/// Stores a message inside the caller's transaction.
pub async fn enqueue(tx: &Transaction<'_>, message: &NewMessage) -> ApiResult<()> {
    tx.execute_typed(
        "INSERT INTO outbox (event_id, kind, order_id, partner_id, history_id, payload, retry_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            p(&message.event_id),
            p(&message.kind),
            p(&message.order_id),
            p(&message.partner_id),
            p(&message.history_id),
            p(&message.payload),
            p(&message.retry_until),
        ],
    )
    .await?;
    wake::note_enqueued();
    Ok(())
}
