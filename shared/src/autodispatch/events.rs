//! What each change of an offer leaves behind, inside the change's transaction: a note in
//! the order's history and a `driver.offer` event in the outbox for the driver push
//! channel. The driver app polls its offers today; a push service configured as the
//! channel (`DRIVER_PUSH_URL`) receives every event signed, and without one the relay
//! records the events as skipped.
//!
//! A push is worth something only while it can still be acted on, so each event carries
//! a deadline past which the relay gives up on it: an offer's own expiry for a new offer,
//! a few minutes for the rest.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::offers::{EscalationReason, Offer};
use crate::{
    db::Transaction,
    error::ApiResult,
    orders::{self, Actor},
    outbox::{self, NewMessage, OutboxKind},
    text_enum::text_enum,
};

/// The event's `type`, as the push channel reads it.
pub const EVENT_TYPE: &str = "driver.offer";

/// How long an answer, a withdrawal or an escalation is worth pushing.
const PUSH_WORTH: Duration = Duration::minutes(10);

text_enum! {
    /// What happened to the offer, as a `driver.offer` event names it.
    pub enum OfferChange("offer change") {
        /// Offered to a driver, who has until `offer.expiresAt`.
        Offered = "OFFERED",
        Accepted = "ACCEPTED",
        Declined = "DECLINED",
        Expired = "EXPIRED",
        /// Taken back: the order was assigned some other way.
        Withdrawn = "WITHDRAWN",
        /// No more offers: the order waits for a dispatcher.
        Escalated = "ESCALATED",
    }
}

/// A `driver.offer` event, as the push channel receives it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferEvent<'a> {
    #[serde(rename = "type")]
    pub event_type: &'static str,
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub change: OfferChange,
    pub order_id: Uuid,
    /// The driver it concerns; none for an escalation.
    pub driver_id: Option<Uuid>,
    /// The offer as it stands after the change; none for an escalation.
    pub offer: Option<&'a Offer>,
    pub escalation: Option<Escalation>,
}

/// Why an order went to staff, and after how many offers.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Escalation {
    pub reason: EscalationReason,
    pub attempts: i32,
}

/// Records a change of `offer` (read after the change): the history note, and the event.
pub(super) async fn offer_changed(
    tx: &Transaction<'_>,
    offer: &Offer,
    change: OfferChange,
    actor: Actor,
    note: &str,
) -> ApiResult<()> {
    let now = Utc::now();
    let worth_until = match change {
        OfferChange::Offered => offer.expires_at,
        _ => now + PUSH_WORTH,
    };
    let event = OfferEvent {
        event_type: EVENT_TYPE,
        event_id: Uuid::new_v4(),
        occurred_at: now,
        change,
        order_id: offer.order_id,
        driver_id: Some(offer.driver_id),
        offer: Some(offer),
        escalation: None,
    };
    record(tx, actor, note, &event, worth_until).await
}

/// Records an escalation: the history note, and the event.
pub(super) async fn escalated(
    tx: &Transaction<'_>,
    order_id: Uuid,
    escalation: Escalation,
    note: &str,
) -> ApiResult<()> {
    let now = Utc::now();
    let event = OfferEvent {
        event_type: EVENT_TYPE,
        event_id: Uuid::new_v4(),
        occurred_at: now,
        change: OfferChange::Escalated,
        order_id,
        driver_id: None,
        offer: None,
        escalation: Some(escalation),
    };
    record(tx, Actor::System, note, &event, now + PUSH_WORTH).await
}

async fn record(
    tx: &Transaction<'_>,
    actor: Actor,
    note: &str,
    event: &OfferEvent<'_>,
    worth_until: DateTime<Utc>,
) -> ApiResult<()> {
    let history_id = orders::record_note(tx, event.order_id, actor, note).await?;
    outbox::enqueue(
        tx,
        &NewMessage {
            event_id: event.event_id,
            kind: OutboxKind::DriverPush,
            order_id: event.order_id,
            partner_id: None,
            history_id,
            payload: serde_json::to_value(event)?,
            retry_until: Some(worth_until),
        },
    )
    .await
}
