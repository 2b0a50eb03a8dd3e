//! The `order-series` job (hourly): places each active series' orders for its dates from
//! today to its horizon, as ordinary orders placed by the series' client.
//!
//! - Each date in its own transaction with the series row locked: placed and recorded
//!   together, so a run cut off later keeps what it did.
//! - Once per date: a date with a record (placed, skipped or failed) is left alone, and the
//!   order is placed with an idempotency key of the series, its generation and the date,
//!   so a run cut off between placing and recording finds the same order next time (unless
//!   an edit cancelled the series' orders in between: then a new one is placed, and the
//!   cut-off run's order stays without a record, to cancel by hand). The series row is
//!   locked while a date is placed, so a skip or an edit of the series waits for it and
//!   then sees the order.
//! - A date whose pickup time has passed is not placed.
//! - A date the order rules refuse (an address the client may no longer use, say) is
//!   recorded as failed with the reason, emailed to the client and raised as an alert for
//!   staff; the series goes on with its other dates. A fault of ours (the database, the
//!   map service) records nothing: the next run tries the date again.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{owner_of, today, OccurrenceStatus, Series, SERIES_SELECT};
use crate::{
    auth::Caller,
    db::{p, GenericClient, RowExt, Transaction},
    error::{ApiError, ApiResult, Context},
    monitoring::{
        alerts::{self, Observation},
        Severity,
    },
    orders::intake::create_order,
    outbox::{self, email::Email, NewMessage, OutboxKind},
    AppState,
};

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// Active series looked at.
    pub series: usize,
    /// Orders placed.
    pub created: usize,
    /// Dates refused by the order rules (recorded and reported).
    pub failed: usize,
    /// Dates left for the next run after a fault of ours.
    pub deferred: usize,
}

/// Places every active series' orders due within its horizon of `now`.
#[tracing::instrument(name = "order_series_run", skip_all)]
pub async fn run(state: &AppState, now: DateTime<Utc>) -> ApiResult<Run> {
    let day = today(now);
    let ids: Vec<Uuid> = state
        .db
        .get()
        .await?
        .query_typed(
            "SELECT id FROM order_series
              WHERE paused_at IS NULL AND (ends_on IS NULL OR ends_on >= $1)
                AND user_id IN (SELECT id FROM users WHERE status = 'ACTIVE')
              ORDER BY created_at, id",
            &[p(&day)],
        )
        .await
        .context("listing active series")?
        .iter()
        .map(|r| r.col("id"))
        .collect::<ApiResult<_>>()?;
    let mut run = Run::default();
    for (k, id) in ids.iter().enumerate() {
        run.series += 1;
        let before = run.clone();
        if let Err(e) = one_series(state, *id, now, &mut run).await {
            tracing::error!(series_id = %id, error = %e, "a series could not be brought up to date");
            run.deferred += 1;
        }
        tracing::info!(
            series_id = %id,
            progress = format!("{}/{}", k + 1, ids.len()),
            created = run.created - before.created,
            failed = run.failed - before.failed,
            "series brought up to date"
        );
    }
    tracing::info!(?run, "order series run finished");
    Ok(run)
}

async fn one_series(
    state: &AppState,
    id: Uuid,
    now: DateTime<Utc>,
    run: &mut Run,
) -> ApiResult<()> {
    let Some(series) = active(&*state.db.get().await?, id, false).await? else {
        return Ok(());
    };
    // The horizon counts today: 14 days are today and the 13 after it.
    let from = today(now);
    let to = from + Duration::days(i64::from(series.horizon_days) - 1);
    for date in series.dates(from, to)? {
        if let Err(e) = one_date(state, id, date, now, run).await {
            tracing::error!(series_id = %id, %date, error = %e, "a series date could not be dealt with; the next run tries again");
            run.deferred += 1;
        }
    }
    Ok(())
}

/// The series if it is active; `lock` takes its row.
async fn active(client: &impl GenericClient, id: Uuid, lock: bool) -> ApiResult<Option<Series>> {
    let lock = if lock { "FOR UPDATE" } else { "" };
    client
        .query_typed_opt(
            &format!("{SERIES_SELECT} WHERE s.id = $1 AND s.paused_at IS NULL {lock}"),
            &[p(&id)],
        )
        .await?
        .map(|row| Series::from_row(&row))
        .transpose()
}

/// One date, in its own transaction holding the series row: placed and recorded (or
/// recorded as failed and reported) together, so a run cut off later keeps what it did,
/// and a skip, edit or pause waits for it and then sees the order.
async fn one_date(
    state: &AppState,
    id: Uuid,
    date: NaiveDate,
    now: DateTime<Utc>,
    run: &mut Run,
) -> ApiResult<()> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    // Paused, ended or edited since the dates were read: as it is now.
    let Some(series) = active(&tx, id, true).await? else {
        return Ok(());
    };
    if !series.dates(date, date)?.contains(&date) || series.times_on(date)?.0 <= now {
        return Ok(());
    }
    let recorded = tx
        .query_typed_opt(
            "SELECT 1 AS recorded FROM order_series_occurrences WHERE series_id = $1 AND occurs_on = $2",
            &[p(&id), p(&date)],
        )
        .await?
        .is_some();
    if recorded {
        return Ok(());
    }
    let placed = match owner_of(&tx, series.user_id).await? {
        Some(owner) => place(state, &owner, &series, date).await,
        None => Err(ApiError::unprocessable(
            "inactive_owner",
            "the series' client is no longer an active client or vendor",
        )),
    };
    match placed {
        Ok(order_id) => {
            record(
                &tx,
                &series,
                date,
                OccurrenceStatus::Created,
                Some(order_id),
                None,
            )
            .await?;
            run.created += 1;
        }
        Err(e) if e.status.is_client_error() => {
            let why = reason(&e);
            record(
                &tx,
                &series,
                date,
                OccurrenceStatus::Failed,
                None,
                Some(&why),
            )
            .await?;
            report_failure(state, &tx, &series, date, &why).await?;
            run.failed += 1;
        }
        // A fault of ours: nothing recorded, the next run tries again.
        Err(e) => return Err(e),
    }
    tx.commit().await.context("recording a series date")?;
    Ok(())
}

/// Places `date`'s order as the series' client would, once: the key finds the order a
/// cut-off run placed.
async fn place(
    state: &AppState,
    owner: &Caller,
    series: &Series,
    date: NaiveDate,
) -> ApiResult<Uuid> {
    let (basics, details) = series.order_body(date)?;
    let key = format!("series:{}:{}:{date}", series.id, series.generation);
    let order = create_order(state, owner, &basics, &details, Some(key)).await?;
    tracing::info!(series_id = %series.id, %date, order_number = %order.order_number, "series order placed");
    Ok(order.id)
}

async fn record(
    tx: &Transaction<'_>,
    series: &Series,
    date: NaiveDate,
    status: OccurrenceStatus,
    order_id: Option<Uuid>,
    error: Option<&str>,
) -> ApiResult<()> {
    tx.execute_typed(
        "INSERT INTO order_series_occurrences (series_id, occurs_on, status, order_id, error)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (series_id, occurs_on) DO NOTHING",
        &[p(&series.id), p(&date), p(&status), p(&order_id), p(&error)],
    )
    .await
    .context("recording a series date")?;
    Ok(())
}

/// The refusal in words: its message and, for a validation error, each field's reason.
fn reason(e: &ApiError) -> String {
    let fields = e
        .details
        .as_ref()
        .and_then(|d| d.as_array())
        .map(|details| {
            details
                .iter()
                .filter_map(|d| {
                    Some(format!(
                        "{} {}",
                        d["field"].as_str()?,
                        d["reason"].as_str()?
                    ))
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|f| !f.is_empty());
    let text = match fields {
        Some(fields) => format!("{}: {fields}", e.message),
        None => e.message.clone(),
    };
    text.chars().take(500).collect()
}

/// Tells the client by email (in the same transaction as the record) and staff by an
/// alert (one per series and date).
async fn report_failure(
    state: &AppState,
    tx: &Transaction<'_>,
    series: &Series,
    date: NaiveDate,
    why: &str,
) -> ApiResult<()> {
    let to: Option<String> = tx
        .query_typed_opt(
            "SELECT email FROM users WHERE id = $1 AND deleted_at IS NULL",
            &[p(&series.user_id)],
        )
        .await?
        .map(|r| r.col("email"))
        .transpose()?;
    if let Some(to) = to {
        let email = Email {
            to,
            subject: format!("Your recurring order for {date} could not be placed"),
            text: format!(
                "We could not place the order of your recurring catering series for {}: {why}.\n\
                 The rest of the series goes on. Please check the series, or call us and we will place it by hand.\n",
                date.format("%A, %B %-d")
            ),
            track_order_id: None,
            handoff_pin: None,
            series_id: Some(series.id),
        };
        outbox::enqueue(
            tx,
            &NewMessage {
                event_id: Uuid::new_v4(),
                kind: OutboxKind::CustomerEmail,
                order_id: None,
                partner_id: None,
                history_id: None,
                payload: serde_json::to_value(&email)?,
                retry_until: None,
            },
        )
        .await?;
    }
    let alert = Observation {
        rule: "order_series_failed".to_owned(),
        group_key: format!("{}:{date}", series.id),
        severity: Severity::Medium,
        summary: format!(
            "series {} could not place its order for {date}: {why}",
            series.id
        ),
        value: 1.0,
        threshold: 0.0,
        firing: true,
        cleared: false,
    };
    // The record stands either way: an alert store outage must not undo it.
    if let Err(e) = alerts::apply(state, &alert, Utc::now()).await {
        tracing::error!(error = %e, "the failed series date's alert was not raised");
    }
    tracing::warn!(series_id = %series.id, %date, reason = why, "a series date could not be placed");
    Ok(())
}
