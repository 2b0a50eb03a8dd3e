//! Offers: an order offered to one driver at a time, best first, each offer with a
//! deadline, and escalated to staff after the last attempt or when nobody can take it.
//! What drivers do with an offer is [`super::answers`]; what drivers and staff see of
//! offers is [`super::views`]; the minute's safety net is [`super::sweep`].
//!
//! Every change of an offer is one conditional update from PENDING, so an accept racing
//! the expiry (or a second delivery of the expiry) has exactly one winner. The partial
//! unique indexes keep one pending offer per order and per driver. Each offer, answer and
//! escalation is a note in the order's history and a `driver.offer` event ([`super::events`]).

use chrono::Utc;
use uuid::Uuid;

use super::{candidates, expiry, settings};
use crate::{
    db::{p, RowExt, Transaction},
    drivers::offers::{escalated, offer_changed, read, Escalation, OfferChange},
    error::{ApiResult, Context},
    orders::{rules::OrderType, Actor},
    planning::inputs::by_ids,
    AppState,
};

pub use crate::drivers::offers::{EscalationReason, Offer, OfferStatus};

/// What offering an order did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Offered(Offer),
    Escalated(EscalationReason),
    /// Nothing to offer: the reason (auto-dispatch off, the order taken, an offer
    /// pending, not yet within its horizon, escalated already).
    Skipped(&'static str),
}

/// Offers the order to the best driver who has not had it yet, or escalates it. Runs
/// when an order becomes dispatchable and after each decline or expiry.
#[tracing::instrument(skip(state))]
pub async fn offer_next(state: &AppState, order_id: Uuid) -> ApiResult<Outcome> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let now = Utc::now();
    // The order's row lock makes concurrent attempts for it take turns.
    let locked = tx
        .query_typed_opt(
            "SELECT id FROM orders WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
            &[p(&order_id)],
        )
        .await
        .context("locking the order")?;
    if locked.is_none() {
        return Ok(Outcome::Skipped("no such order"));
    }
    let Some(order) = by_ids(&tx, &[order_id]).await?.pop() else {
        return Ok(Outcome::Skipped("no such order"));
    };
    if order.taken.is_some() {
        return Ok(Outcome::Skipped("the order has a driver or is closed"));
    }
    let settings = settings::of(&tx, order.order_type).await?;
    if !settings.enabled {
        return Ok(Outcome::Skipped("auto-dispatch is off for this order type"));
    }
    if order.order_type == OrderType::Catering
        && order.pickup_date_time - chrono::Duration::minutes(settings.horizon_minutes.into()) > now
    {
        return Ok(Outcome::Skipped("not yet within the dispatch horizon"));
    }
    let state_row = tx
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM dispatch_escalations WHERE order_id = $1 AND resolved_at IS NULL) AS escalated,
                    EXISTS (SELECT 1 FROM dispatch_offers WHERE order_id = $1 AND status = 'PENDING') AS pending,
                    COALESCE((SELECT array_agg(driver_id) FROM dispatch_offers
                               WHERE order_id = $1 AND status <> 'WITHDRAWN'), '{}') AS offered,
                    (SELECT count(*) FROM dispatch_offers
                      WHERE order_id = $1 AND status <> 'WITHDRAWN'
                        AND offered_at > COALESCE((SELECT max(created_at) FROM failed_attempts WHERE order_id = $1),
                                                  '-infinity')) AS attempts,
                    COALESCE((SELECT array_agg(driver_id) FROM dispatches
                               WHERE order_id = $1 AND unassigned_at IS NOT NULL), '{}') AS released",
            &[p(&order_id)],
        )
        .await
        .context("reading the order's offers")?;
    if state_row.col::<bool>("escalated")? {
        return Ok(Outcome::Skipped("escalated to staff"));
    }
    if state_row.col::<bool>("pending")? {
        return Ok(Outcome::Skipped("an offer is pending"));
    }
    let mut passed_over: Vec<Uuid> = state_row.col("offered")?;
    // Attempts count afresh after a failed delivery attempt: the order is a new job for
    // dispatch, though drivers who passed on it before are still passed over.
    let attempts = i32::try_from(state_row.col::<i64>("attempts")?).unwrap_or(i32::MAX);
    if attempts >= settings.max_attempts {
        return escalate(tx, order_id, EscalationReason::AttemptsExhausted, attempts).await;
    }
    // Nor is it offered to a driver taken off it.
    passed_over.extend(state_row.col::<Vec<Uuid>>("released")?);
    let expires_at = now + settings.acceptance();
    for candidate in candidates::rank(&tx, &order, &settings, &passed_over, now).await? {
        // A driver given another order's offer meanwhile is passed over.
        let inserted = tx
            .query_typed_opt(
                "INSERT INTO dispatch_offers (order_id, driver_id, attempt, added_drive_seconds, offered_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT DO NOTHING RETURNING id",
                &[
                    p(&order_id),
                    p(&candidate.driver_id),
                    p(&(attempts + 1)),
                    p(&(candidate.added_drive_seconds as i32)),
                    p(&now),
                    p(&expires_at),
                ],
            )
            .await
            .context("offering the order")?;
        let Some(row) = inserted else { continue };
        let offer_id: Uuid = row.col("id")?;
        let offer = read(&tx, offer_id).await?;
        let note = format!(
            "offered to driver {} (attempt {}, {:.0} min added), until {}",
            candidate.driver_id,
            attempts + 1,
            candidate.added_drive_seconds / 60.0,
            expires_at.format("%H:%M:%S UTC")
        );
        offer_changed(&tx, &offer, OfferChange::Offered, Actor::System, &note).await?;
        tx.commit().await?;
        // Its connection back to the pool before the calls after the commit.
        drop(client);
        tracing::info!(%offer_id, driver_id = %candidate.driver_id, attempt = attempts + 1, "order offered");
        expiry::schedule(state, &offer).await;
        return Ok(Outcome::Offered(offer));
    }
    escalate(tx, order_id, EscalationReason::NoCandidate, attempts).await
}

/// Hands the order to staff: the escalation row, a history note and its event in the
/// order's transaction. The sweep raises its alert (the one place that writes alerts, so the
/// routes that offer need no access to the alert store).
async fn escalate(
    tx: Transaction<'_>,
    order_id: Uuid,
    reason: EscalationReason,
    attempts: i32,
) -> ApiResult<Outcome> {
    tx.execute_typed(
        "INSERT INTO dispatch_escalations (order_id, reason, attempts) VALUES ($1, $2, $3)
         ON CONFLICT (order_id) DO UPDATE SET reason = EXCLUDED.reason, attempts = EXCLUDED.attempts,
                                              escalated_at = now(), resolved_at = NULL, alerted_at = NULL",
        &[p(&order_id), p(&reason), p(&attempts)],
    )
    .await
    .context("escalating the order")?;
    let note = format!(
        "auto-dispatch gave up after {attempts} offers: {}; a dispatcher assigns it",
        reason.why()
    );
    escalated(&tx, order_id, Escalation { reason, attempts }, &note).await?;
    tx.commit().await?;
    tracing::warn!(%order_id, %reason, attempts, "order escalated to dispatch");
    Ok(Outcome::Escalated(reason))
}

/// Offers the order now if it needs it (a new order, the next offer after an answer, an
/// order whose driver was taken off). What came before stands whatever happens here, so
/// a failure is logged (`None`), and the sweep offers the order again.
pub async fn offer_now(state: &AppState, order_id: Uuid) -> Option<Outcome> {
    match offer_next(state, order_id).await {
        Ok(outcome) => Some(outcome),
        Err(e) => {
            tracing::error!(error = %e, %order_id, "the next offer failed; the sweep retries it");
            None
        }
    }
}

/// [`offer_now`] for an order back with dispatch (its driver taken off, its delivery
/// failed), whose answer shows the offer made at once, if one was.
pub async fn offer_again(state: &AppState, order_id: Uuid) -> Option<Offer> {
    match offer_now(state, order_id).await {
        Some(Outcome::Offered(offer)) => Some(offer),
        _ => None,
    }
}
