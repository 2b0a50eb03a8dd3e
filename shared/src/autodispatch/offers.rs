//! Offers: an order offered to one driver at a time, best first, each offer with a
//! deadline; accepted through the one dispatch path, declined or expired on to the next
//! driver, and escalated to staff after the last attempt or when nobody can take it.
//!
//! Every change of an offer is one conditional update from PENDING, so an accept racing
//! the expiry (or a second delivery of the expiry) has exactly one winner. The partial
//! unique indexes keep one pending offer per order and per driver. Each offer, answer and
//! escalation is a note in the order's history.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{candidates, expiry, settings};
use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, FromRow, GenericClient, RowExt, Transaction},
    drivers::dispatch::{assign_offered, Dispatch},
    error::{ApiError, ApiResult, Context},
    input::{Cursor, Page, PageRequest},
    monitoring::{
        alerts::{self, Observation},
        Severity,
    },
    orders::{self, rules::OrderType, Actor},
    pay::PayView,
    planning::inputs::by_ids,
    text_enum::text_enum,
    AppState,
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

const OFFER_SELECT: &str = "
    SELECT f.id, f.order_id, o.order_number, f.driver_id, f.attempt, f.status, f.added_drive_seconds,
           f.offered_at, f.expires_at, f.answered_at, f.decline_reason
      FROM dispatch_offers f JOIN orders o ON o.id = f.order_id";

/// A driver's pending offer, as the driver app shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DriverOffer {
    #[serde(flatten)]
    pub offer: Offer,
    pub order_type: OrderType,
    pub pickup: OfferStop,
    pub dropoff: OfferStop,
    pub pickup_at: DateTime<Utc>,
    pub arrival_at: DateTime<Utc>,
    /// Minutes the order adds to the driver's drive.
    pub extra_minutes: f64,
    /// What the delivery pays, as completing it would record it.
    pub pay_estimate: PayView,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OfferStop {
    pub street1: String,
    pub city: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

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
                               WHERE order_id = $1 AND status <> 'WITHDRAWN'), '{}') AS offered",
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
    let offered: Vec<Uuid> = state_row.col("offered")?;
    let attempts = i32::try_from(offered.len()).unwrap_or(i32::MAX);
    if attempts >= settings.max_attempts {
        return escalate(tx, order_id, EscalationReason::AttemptsExhausted, attempts).await;
    }
    let expires_at = now + settings.acceptance();
    for candidate in candidates::rank(&tx, &order, &settings, &offered, now).await? {
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
        orders::record_note(
            &tx,
            order_id,
            Actor::System,
            &format!(
                "offered to driver {} (attempt {}, {:.0} min added), until {}",
                candidate.driver_id,
                attempts + 1,
                candidate.added_drive_seconds / 60.0,
                expires_at.format("%H:%M:%S UTC")
            ),
        )
        .await?;
        let offer = read(&tx, offer_id).await?;
        tx.commit().await?;
        // Its connection back to the pool before the calls after the commit.
        drop(client);
        tracing::info!(%offer_id, driver_id = %candidate.driver_id, attempt = attempts + 1, "order offered");
        expiry::schedule(state, &offer).await;
        return Ok(Outcome::Offered(offer));
    }
    escalate(tx, order_id, EscalationReason::NoCandidate, attempts).await
}

/// Hands the order to staff: the escalation row and a history note in the order's
/// transaction. The sweep raises its alert (the one place that writes alerts, so the
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
    orders::record_note(
        &tx,
        order_id,
        Actor::System,
        &format!(
            "auto-dispatch gave up after {attempts} offers: {}; a dispatcher assigns it",
            reason.why()
        ),
    )
    .await?;
    tx.commit().await?;
    tracing::warn!(%order_id, %reason, attempts, "order escalated to dispatch");
    Ok(Outcome::Escalated(reason))
}

impl EscalationReason {
    fn why(self) -> &'static str {
        match self {
            EscalationReason::NoCandidate => "no driver can take it in time",
            EscalationReason::AttemptsExhausted => "every offer was declined or expired",
        }
    }
}

/// The alert of an escalated order (one per order): firing with its reason, or
/// resolved (`None`) once the order has a driver or is closed.
fn escalation_alert(
    order_number: &str,
    attempts: i32,
    reason: Option<EscalationReason>,
) -> Observation {
    Observation {
        rule: "auto_dispatch_escalated".to_owned(),
        group_key: order_number.to_owned(),
        severity: Severity::Medium,
        summary: match reason {
            Some(reason) => format!(
                "order {order_number} needs a driver by hand: {}",
                reason.why()
            ),
            None => format!("order {order_number} has a driver or is closed"),
        },
        value: f64::from(attempts),
        threshold: 0.0,
        firing: reason.is_some(),
        cleared: reason.is_none(),
    }
}

async fn read(client: &impl GenericClient, id: Uuid) -> ApiResult<Offer> {
    client
        .query_typed_opt(&format!("{OFFER_SELECT} WHERE f.id = $1"), &[p(&id)])
        .await?
        .map(|row| Offer::from_row(&row))
        .transpose()?
        .ok_or_else(|| ApiError::not_found("offer"))
}

/// The caller's driver record: 403 for a driver without one.
async fn caller_driver(client: &impl GenericClient, caller: &Caller) -> ApiResult<Uuid> {
    caller.require(Permission::Drive)?;
    client
        .query_typed_opt(
            "SELECT id FROM drivers WHERE user_id = $1 AND deleted_at IS NULL",
            &[p(&caller.user_id)],
        )
        .await?
        .map(|row| row.col("id"))
        .transpose()?
        .ok_or_else(|| ApiError::forbidden("this account has no driver record"))
}

/// Why an offer the driver answered is no longer open: 404 when it is not the driver's,
/// 409 when it was answered, withdrawn or has expired.
async fn closed(client: &impl GenericClient, offer_id: Uuid, driver_id: Uuid) -> ApiError {
    match read(client, offer_id).await {
        Ok(offer) if offer.driver_id == driver_id => match offer.status {
            OfferStatus::Pending => ApiError::conflict("offer_expired", "this offer has expired"),
            status => ApiError::conflict(
                "offer_closed",
                format!("this offer is {}", status.as_str().to_ascii_lowercase()),
            ),
        },
        Ok(_) => ApiError::not_found("offer"),
        Err(e) => e,
    }
}

/// What accepting did: the offer and the dispatch it made.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    pub offer: Offer,
    pub dispatch: Dispatch,
}

/// `POST /api/driver/offers/{offerId}/accept`: the driver takes the order, through the
/// one dispatch path, in one transaction with the offer's change.
#[tracing::instrument(skip(state, caller))]
pub async fn accept(state: &AppState, caller: &Caller, offer_id: Uuid) -> ApiResult<Accepted> {
    let mut client = state.db.get().await?;
    let driver_id = caller_driver(&*client, caller).await?;
    let tx = client.transaction().await?;
    let won = tx
        .query_typed_opt(
            "UPDATE dispatch_offers SET status = 'ACCEPTED', answered_at = now()
              WHERE id = $1 AND driver_id = $2 AND status = 'PENDING' AND expires_at > now()
          RETURNING order_id",
            &[p(&offer_id), p(&driver_id)],
        )
        .await
        .context("accepting the offer")?;
    let Some(row) = won else {
        return Err(closed(&tx, offer_id, driver_id).await);
    };
    let order_id: Uuid = row.col("order_id")?;
    let dispatch = assign_offered(&tx, caller, order_id, driver_id).await?;
    orders::record_note(
        &tx,
        order_id,
        Actor::User(caller.user_id),
        "the driver accepted the offer",
    )
    .await?;
    // The driver's route, in order: the delivery timed as the insertion places it.
    if let Some(order) = by_ids(&tx, &[order_id]).await?.pop() {
        if let Some(t) = candidates::timetable(&tx, driver_id, &order, Utc::now()).await? {
            tx.execute_typed(
                "UPDATE deliveries SET offer_id = $2, planned_pickup_at = $3, planned_dropoff_at = $4,
                        planned_sequence = $5
                  WHERE id = $1",
                &[
                    p(&dispatch.delivery_id),
                    p(&offer_id),
                    p(&t.pickup_at),
                    p(&t.dropoff_at.max(t.pickup_at)),
                    p(&t.sequence),
                ],
            )
            .await
            .context("timing the delivery")?;
        }
    }
    let offer = read(&tx, offer_id).await?;
    tx.commit().await?;
    tracing::info!(%order_id, %driver_id, "offer accepted");
    Ok(Accepted { offer, dispatch })
}

/// `POST /api/driver/offers/{offerId}/decline {reason?}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Decline {
    pub reason: Option<String>,
}

pub const MAX_DECLINE_REASON: usize = 500;

/// The driver passes: the offer closes, and the order goes to the next driver.
#[tracing::instrument(skip(state, caller, decline))]
pub async fn decline(
    state: &AppState,
    caller: &Caller,
    offer_id: Uuid,
    decline: &Decline,
) -> ApiResult<Offer> {
    let mut client = state.db.get().await?;
    let driver_id = caller_driver(&*client, caller).await?;
    let reason = crate::input::Validator::validate(|v| {
        Some(v.optional_text(
            "reason",
            decline.reason.as_deref(),
            MAX_DECLINE_REASON,
            crate::input::Lines::Many,
        ))
    })?;
    let tx = client.transaction().await?;
    let closed_now = tx
        .query_typed_opt(
            "UPDATE dispatch_offers SET status = 'DECLINED', answered_at = now(), decline_reason = $3
              WHERE id = $1 AND driver_id = $2 AND status = 'PENDING'
          RETURNING order_id",
            &[p(&offer_id), p(&driver_id), p(&reason)],
        )
        .await
        .context("declining the offer")?;
    let Some(row) = closed_now else {
        return Err(closed(&tx, offer_id, driver_id).await);
    };
    let order_id: Uuid = row.col("order_id")?;
    let note = match &reason {
        Some(r) => format!("the driver declined the offer: {r}"),
        None => "the driver declined the offer".to_owned(),
    };
    orders::record_note(&tx, order_id, Actor::User(caller.user_id), &note).await?;
    let offer = read(&tx, offer_id).await?;
    tx.commit().await?;
    // Its connection back to the pool before the calls after the commit.
    drop(client);
    tracing::info!(%order_id, %driver_id, "offer declined");
    offer_now(state, order_id).await;
    Ok(offer)
}

/// Expires the offer if it is still pending and past its time; the order goes to the
/// next driver. A duplicate delivery changes nothing (`false`); an early one (a clock a
/// moment behind the queue's) sends the expiry again for the rest of the time.
#[tracing::instrument(skip(state))]
pub async fn expire(state: &AppState, offer_id: Uuid) -> ApiResult<bool> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let expired = tx
        .query_typed_opt(
            "UPDATE dispatch_offers SET status = 'EXPIRED', answered_at = now()
              WHERE id = $1 AND status = 'PENDING' AND expires_at <= now()
          RETURNING order_id, driver_id",
            &[p(&offer_id)],
        )
        .await
        .context("expiring the offer")?;
    let Some(row) = expired else {
        drop(tx);
        if let Ok(offer) = read(&*client, offer_id).await {
            if offer.status == OfferStatus::Pending {
                expiry::schedule(state, &offer).await;
            }
        }
        return Ok(false);
    };
    let order_id: Uuid = row.col("order_id")?;
    let driver_id: Uuid = row.col("driver_id")?;
    orders::record_note(
        &tx,
        order_id,
        Actor::System,
        &format!("the offer to driver {driver_id} expired unanswered"),
    )
    .await?;
    tx.commit().await?;
    // Its connection back to the pool before the calls after the commit.
    drop(client);
    tracing::info!(%order_id, %driver_id, "offer expired");
    offer_now(state, order_id).await;
    Ok(true)
}

/// Offers the order now if it needs it (a new order, or the next offer after an answer).
/// What came before stands whatever happens here, so a failure is logged, and the sweep
/// offers the order again.
pub async fn offer_now(state: &AppState, order_id: Uuid) {
    if let Err(e) = offer_next(state, order_id).await {
        tracing::error!(error = %e, %order_id, "the next offer failed; the sweep retries it");
    }
}

/// `GET /api/driver/offers`: the caller's pending offer, if any (a list of at most one).
pub async fn pending_for_driver(
    client: &impl GenericClient,
    caller: &Caller,
) -> ApiResult<Vec<DriverOffer>> {
    let driver_id = caller_driver(client, caller).await?;
    let rows = client
        .query_typed(
            "SELECT f.id, f.order_id, o.order_number, f.driver_id, f.attempt, f.status,
                        f.added_drive_seconds, f.offered_at, f.expires_at, f.answered_at, f.decline_reason,
                        o.order_type, o.pickup_date_time, o.arrival_date_time,
                        pa.street1 AS pickup_street1, pa.city AS pickup_city,
                        ST_Y(pa.location::geometry) AS pickup_lat, ST_X(pa.location::geometry) AS pickup_lng,
                        da.street1 AS dropoff_street1, da.city AS dropoff_city,
                        ST_Y(da.location::geometry) AS dropoff_lat, ST_X(da.location::geometry) AS dropoff_lng
                   FROM dispatch_offers f JOIN orders o ON o.id = f.order_id
                   JOIN addresses pa ON pa.id = o.pickup_address_id
                   JOIN addresses da ON da.id = o.delivery_address_id
                  WHERE f.driver_id = $1 AND f.status = 'PENDING' AND f.expires_at > now()",
            &[p(&driver_id)],
        )
        .await
        .context("reading the driver's offers")?;
    let mut offers = Vec::with_capacity(rows.len());
    for row in &rows {
        let stop = |prefix: &str| -> ApiResult<OfferStop> {
            Ok(OfferStop {
                street1: row.col(&format!("{prefix}_street1"))?,
                city: row.col(&format!("{prefix}_city"))?,
                lat: row.col(&format!("{prefix}_lat"))?,
                lng: row.col(&format!("{prefix}_lng"))?,
            })
        };
        let offer = Offer::from_row(row)?;
        let pay = crate::pay::estimate(client, offer.order_id)
            .await?
            .map(|(pay, _)| PayView::from(pay))
            .unwrap_or_default();
        offers.push(DriverOffer {
            extra_minutes: (f64::from(offer.added_drive_seconds) / 6.0).round() / 10.0,
            order_type: row.col("order_type")?,
            pickup: stop("pickup")?,
            dropoff: stop("dropoff")?,
            pickup_at: row.col("pickup_date_time")?,
            arrival_at: row.col("arrival_date_time")?,
            pay_estimate: pay,
            offer,
        });
    }
    Ok(offers)
}

/// `GET /api/dispatch/offers?status=`: offers newest first in pages (staff who dispatch).
pub async fn list(
    client: &impl GenericClient,
    caller: &Caller,
    status: Option<OfferStatus>,
    page: &PageRequest,
) -> ApiResult<Page<Offer>> {
    caller.require(Permission::DispatchDrivers)?;
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    let rows = client
        .query_typed(
            &format!(
                "{OFFER_SELECT}
                  WHERE ($1::text IS NULL OR f.status = $1)
                    AND ($2::timestamptz IS NULL OR (f.offered_at, f.id) < ($2, $3))
                  ORDER BY f.offered_at DESC, f.id DESC
                  LIMIT $4"
            ),
            &[
                p(&status),
                p(&after_time),
                p(&after_id),
                p(&page.fetch_limit()),
            ],
        )
        .await
        .context("listing offers")?;
    let items = rows
        .iter()
        .map(Offer::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |o| Cursor {
        at: o.offered_at,
        id: o.id,
    }))
}

/// What one sweep did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Swept {
    pub expired: usize,
    pub offered: usize,
    pub escalated: usize,
    /// Escalations whose alert was raised.
    pub alerted: usize,
    pub resolved: usize,
}

/// Orders the sweep looks at, at most, each run.
pub const SWEEP_BATCH: i64 = 200;

/// The safety net, each minute: offers past their time expire (their own expiry message
/// normally did it), orders that need a driver and have no offer are offered (catering
/// ones entering their horizon, those whose offer failed), new escalations raise their
/// alerts, and escalations whose orders now have a driver or are closed resolve.
#[tracing::instrument(skip_all)]
pub async fn sweep(state: &AppState) -> ApiResult<Swept> {
    let mut swept = Swept::default();
    let client = state.db.get().await?;
    let overdue = client
        .query_typed(
            "SELECT id FROM dispatch_offers WHERE status = 'PENDING' AND expires_at <= now()
              ORDER BY expires_at LIMIT $1",
            &[p(&SWEEP_BATCH)],
        )
        .await
        .context("finding overdue offers")?;
    for row in &overdue {
        if expire(state, row.col("id")?).await? {
            swept.expired += 1;
        }
    }
    let waiting = client
        .query_typed(
            "SELECT o.id FROM orders o JOIN auto_dispatch_settings s ON s.order_type = o.order_type
              WHERE s.enabled AND o.deleted_at IS NULL AND order_is_open(o.status)
                AND o.driver_status IS NULL AND o.arrival_date_time > now()
                AND (o.order_type = 'ON_DEMAND'
                     OR o.pickup_date_time <= now() + make_interval(mins => s.horizon_minutes))
                AND NOT EXISTS (SELECT 1 FROM dispatches ds WHERE ds.order_id = o.id AND ds.unassigned_at IS NULL)
                AND NOT EXISTS (SELECT 1 FROM dispatch_offers f WHERE f.order_id = o.id AND f.status = 'PENDING')
                AND NOT EXISTS (SELECT 1 FROM dispatch_escalations e WHERE e.order_id = o.id AND e.resolved_at IS NULL)
              ORDER BY o.pickup_date_time LIMIT $1",
            &[p(&SWEEP_BATCH)],
        )
        .await
        .context("finding orders to offer")?;
    for row in &waiting {
        match offer_next(state, row.col("id")?).await? {
            Outcome::Offered(_) => swept.offered += 1,
            Outcome::Escalated(_) => swept.escalated += 1,
            Outcome::Skipped(_) => {}
        }
    }
    let raised = client
        .query_typed(
            "UPDATE dispatch_escalations e SET alerted_at = now()
               FROM orders o
              WHERE o.id = e.order_id AND e.resolved_at IS NULL AND e.alerted_at IS NULL
          RETURNING o.order_number, e.attempts, e.reason",
            &[],
        )
        .await
        .context("alerting escalations")?;
    for row in &raised {
        let reason: EscalationReason = row.col("reason")?;
        let seen = escalation_alert(
            &row.col::<String>("order_number")?,
            row.col("attempts")?,
            Some(reason),
        );
        if let Err(e) = alerts::apply(state, &seen, Utc::now()).await {
            tracing::error!(error = %e, "an escalation's alert was not raised");
        }
        swept.alerted += 1;
    }
    let settled = client
        .query_typed(
            "UPDATE dispatch_escalations e SET resolved_at = now()
               FROM orders o
              WHERE o.id = e.order_id AND e.resolved_at IS NULL
                AND (NOT order_is_open(o.status) OR o.deleted_at IS NOT NULL
                     OR EXISTS (SELECT 1 FROM dispatches ds WHERE ds.order_id = o.id AND ds.unassigned_at IS NULL))
          RETURNING o.order_number, e.attempts, e.alerted_at IS NOT NULL AS alerted",
            &[],
        )
        .await
        .context("resolving escalations")?;
    for row in &settled {
        swept.resolved += 1;
        if !row.col::<bool>("alerted")? {
            continue;
        }
        let seen = escalation_alert(
            &row.col::<String>("order_number")?,
            row.col("attempts")?,
            None,
        );
        if let Err(e) = alerts::apply(state, &seen, Utc::now()).await {
            tracing::error!(error = %e, "an escalation's alert did not resolve");
        }
    }
    tracing::info!(?swept, "auto-dispatch sweep");
    Ok(swept)
}
