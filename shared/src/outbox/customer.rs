//! What customer messages (emails and texts) share: why a send failed, the tracking link
//! each may carry, and the hand-off code one may give.
//!
//! The link is signed by the relay as it sends, not when the message is queued: its day
//! of validity starts when the customer receives it (a retried message carries a fresh
//! one), and no outbox row, which operators see with its payload, holds a working token.

use chrono::Utc;
use uuid::Uuid;

use crate::{
    auth::{
        links::{self, LinkPurpose},
        pins,
    },
    db::{p, RowExt},
    AppState,
};

/// Why a customer message was not sent, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    Retry(String),
    Permanent(String),
    /// Not to be sent, by design (texts switched off, a number that opted out): on
    /// record, never retried.
    Skipped(String),
}

/// The customer tracking page for `order_id`, with a link signed now for a day; none when
/// the message follows no order or no page is configured (`TRACKING_PAGE_URL`).
pub async fn tracking_url(
    state: &AppState,
    order_id: Option<Uuid>,
) -> Result<Option<String>, SendError> {
    let (Some(order_id), Some(page)) = (
        order_id,
        state.config.notifications.tracking_page.as_deref(),
    ) else {
        return Ok(None);
    };
    let keys = state
        .jwt()
        .await
        .map_err(|e| SendError::Retry(format!("link signing keys unavailable: {}", e.message)))?;
    let expires_at = Utc::now() + links::TRACKING_LINK_TTL;
    let token = links::sign(&keys, LinkPurpose::Tracking, order_id, expires_at);
    Ok(Some(format!("{page}{token}")))
}

/// The sentence giving the delivery's hand-off code, derived now from its nonce (see
/// `auth::pins`): the code exists only in the message sent.
pub async fn handoff_sentence(
    state: &AppState,
    delivery_id: Option<Uuid>,
) -> Result<Option<String>, SendError> {
    let Some(delivery_id) = delivery_id else {
        return Ok(None);
    };
    let retry = |e: crate::error::ApiError| SendError::Retry(e.message.to_string());
    let client = state.db.get().await.map_err(retry)?;
    let nonce: Option<Uuid> = client
        .query_typed_opt(
            "SELECT handoff_pin_nonce FROM deliveries WHERE id = $1",
            &[p(&delivery_id)],
        )
        .await
        .map_err(|e| retry(e.into()))?
        .map(|row| row.col("handoff_pin_nonce"))
        .transpose()
        .map_err(retry)?
        .flatten();
    let Some(nonce) = nonce else {
        return Err(SendError::Permanent(
            "the delivery has no hand-off code drawn".into(),
        ));
    };
    let keys = state
        .jwt()
        .await
        .map_err(|e| SendError::Retry(format!("code keys unavailable: {}", e.message)))?;
    let code = pins::handoff_pin(&keys, delivery_id, nonce);
    Ok(Some(format!(
        "Your hand-off code is {code}: give it to the driver to receive your order."
    )))
}
