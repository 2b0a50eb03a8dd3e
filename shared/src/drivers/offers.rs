//! Offers of orders to drivers, as records: where each stands, how it reads, and what
//! each change leaves behind inside the change's transaction: a note in the order's
//! history and a `driver.offer` event in the outbox for the driver push channel.
//! Auto-dispatch decides whom to offer an order to and when; the
//! dispatch path ([`super::dispatch`]) withdraws a pending offer when it assigns the
//! order some other way, which is why the records live here, below both.
//!
//! The driver app polls its offers today; a push service configured as the channel
//! (`DRIVER_PUSH_URL`) receives every event signed, and without one the relay records
//! the events as skipped. A push is worth something only while it can still be acted
//! on, so each event carries a deadline past which the relay gives up on it: an offer's
//! own expiry for a new offer, a few minutes for the rest.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    db::{p, FromRow, GenericClient, RowExt, Transaction},
    error::{ApiError, ApiResult, Context},
    orders::{self, Actor},
    outbox::{self, NewMessage, OutboxKind},
    text_enum::text_enum,
};

text_enum! {
    /// Where an offer stands: pending until accepted, declined, expired or withdrawn
    /// (the order assigned some other way).
    pub enum OfferStatus("offer status") {
        Pending = "PENDING",
        Accepted = "ACCEPTED",
        Declined = "DECLINED",
        Expired = "EXPIRED",
        Withdrawn = "WITHDRAWN",
    }
}

text_enum! {
    /// Why auto-dispatch handed an order to staff.
    pub enum EscalationReason("escalation reason") {
        /// No driver could take it in time.
        NoCandidate = "NO_CANDIDATE",
        /// Offered as often as the settings allow, and never accepted.
        AttemptsExhausted = "ATTEMPTS_EXHAUSTED",
    }
}

/// An offer as staff list it.
#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    pub id: Uuid,
    pub order_id: Uuid,
    pub order_number: String,
    pub driver_id: Uuid,
    pub attempt: i32,
    pub status: OfferStatus,
    pub added_drive_seconds: i32,
    pub offered_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
}

pub const OFFER_SELECT: &str = "
    SELECT f.id, f.order_id, o.order_number, f.driver_id, f.attempt, f.status, f.added_drive_seconds,
           f.offered_at, f.expires_at, f.answered_at, f.decline_reason
      FROM dispatch_offers f JOIN orders o ON o.id = f.order_id";

impl EscalationReason {
    pub fn why(self) -> &'static str {
        match self {
            EscalationReason::NoCandidate => "no driver can take it in time",
            EscalationReason::AttemptsExhausted => "every offer was declined or expired",
        }
    }
}

/// Withdraws the order's pending offer, if any, inside the transaction that assigns the
/// order some other way (a dispatcher, a plan): the offer closes, with its note and event.
pub async fn withdraw(tx: &Transaction<'_>, order_id: Uuid, actor: Actor) -> ApiResult<()> {
    let withdrawn = tx
        .query_typed_opt(
            "UPDATE dispatch_offers SET status = 'WITHDRAWN', answered_at = now()
              WHERE order_id = $1 AND status = 'PENDING'
          RETURNING id",
            &[p(&order_id)],
        )
        .await
        .context("withdrawing the order's pending offer")?;
    if let Some(row) = withdrawn {
        let offer = read(tx, row.col("id")?).await?;
        offer_changed(
            tx,
            &offer,
            OfferChange::Withdrawn,
            actor,
            "the pending offer was withdrawn",
        )
        .await?;
    }
    Ok(())
}

pub async fn read(client: &impl GenericClient, id: Uuid) -> ApiResult<Offer> {
    client
        .query_typed_opt(&format!("{OFFER_SELECT} WHERE f.id = $1"), &[p(&id)])
        .await?
        .map(|row| Offer::from_row(&row))
        .transpose()?
        .ok_or_else(|| ApiError::not_found("offer"))
}

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
pub async fn offer_changed(
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
pub async fn escalated(
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
            order_id: Some(event.order_id),
            partner_id: None,
            history_id: Some(history_id),
            payload: serde_json::to_value(event)?,
            retry_until: Some(worth_until),
        },
    )
    .await
}
