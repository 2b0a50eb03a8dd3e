//! Each offer's deadline, kept without a function waiting for it: when an offer is made,
//! a message naming it is sent to a queue with a delivery delay of the acceptance window
//! (SQS holds a message back up to 15 minutes; the window is at most 10), and the
//! `dispatch-offer-expire` function, fed by the queue, expires the offer if it is still
//! pending and offers the order to the next driver.
//!
//! SQS over EventBridge Scheduler's one-time schedules: a delayed message is one call and
//! needs no clean-up, while a schedule per offer is a resource to create and delete (or
//! leave to lapse), with a per-account quota; and a queue's delivery at least once with a
//! dead-letter queue is what an expiry needs, because expiring is idempotent (a
//! conditional update from PENDING) and a duplicate or late delivery changes nothing.
//!
//! Sending comes after the offer's commit, so a lost send cannot leave an offer that was
//! never made; an offer whose message was lost expires by the sweep within a minute.

use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::offers::Offer;
use crate::AppState;

/// SQS holds a message back at most this long.
const MAX_DELAY_SECONDS: i64 = 900;

/// What the queue carries: the offer to expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpiryMessage {
    pub offer_id: Uuid,
}

/// Sends the offer's expiry, delivered at its deadline. Without a queue configured, or if
/// the send fails (logged), the sweep expires the offer instead.
pub async fn schedule(state: &AppState, offer: &Offer) {
    let Some(queue) = &state.config.drivers.offer_expiry_queue else {
        return;
    };
    // Whole seconds, rounded up: a message delivered before the deadline finds the offer
    // not yet due (and is sent again for the rest).
    let delay_ms = (offer.expires_at - chrono::Utc::now()).num_milliseconds();
    let delay = ((delay_ms + 999) / 1000).clamp(0, MAX_DELAY_SECONDS);
    let body = serde_json::json!(ExpiryMessage { offer_id: offer.id }).to_string();
    let sent = state
        .sqs
        .send_message()
        .queue_url(queue)
        .message_body(body)
        .delay_seconds(i32::try_from(delay).unwrap_or(0))
        .send()
        .await;
    if let Err(e) = sent {
        tracing::error!(
            error = %aws_sdk_sqs::error::DisplayErrorContext(&e),
            offer_id = %offer.id,
            "the offer's expiry was not queued; the sweep expires it"
        );
    }
}

/// One record of an SQS event, as Lambda delivers it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueRecord {
    pub message_id: String,
    pub body: String,
}

#[derive(Debug, Clone, Deserialize)]
struct QueueEvent {
    #[serde(rename = "Records")]
    records: Vec<QueueRecord>,
}

/// The records of an SQS event (none for any other event).
pub fn records(event: &Value) -> Vec<QueueRecord> {
    serde_json::from_value::<QueueEvent>(event.clone())
        .map(|e| e.records)
        .unwrap_or_default()
}

/// The message a record carries; `None` for a body that is not an expiry (which no
/// retry would mend: it is dropped, and logged).
pub fn message(record: &QueueRecord) -> Option<ExpiryMessage> {
    match serde_json::from_str(&record.body) {
        Ok(message) => Some(message),
        Err(e) => {
            tracing::warn!(message_id = %record.message_id, error = %e, "not an offer expiry; dropped");
            None
        }
    }
}
