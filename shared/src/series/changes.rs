//! Changes to a series after it is made: one date skipped, or the series edited (and
//! its orders to come brought in line).

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    checks::{check_series, check_times, TEMPLATE_FIELDS},
    lock_visible, owner_of,
    rule::Rule,
    today, with_next, OccurrenceStatus, Series, SeriesView, MAX_HORIZON_DAYS,
};
use crate::{
    auth::{Caller, Permission},
    db::{p, RowExt, Transaction},
    error::{ApiError, ApiResult, Context, FieldError},
    orders::{
        edit::{self, OrderRef, OrderUpdate},
        status::OrderStatus,
        Actor, StatusChange,
    },
    AppState,
};

/// A change to a series (`PATCH /api/order-series/{seriesId}`); absent fields stay.
/// `endsOn: null` removes the end; `order` changes the named order fields only.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeriesEdit {
    pub rule: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub ends_on: Option<Option<NaiveDate>>,
    pub pickup_time: Option<String>,
    pub arrival_time: Option<String>,
    pub horizon_days: Option<i32>,
    pub paused: Option<bool>,
    pub order: Option<Map<String, Value>>,
}

/// A field that may be given as `null`: `Some(None)`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Skips one date: recorded as an exception (the job places nothing for it), its order
/// cancelled if placed and not yet dispatched; 409 once a driver has it. Skipping a
/// skipped date changes nothing.
#[tracing::instrument(name = "skip_series_date", skip_all, fields(%id, %date))]
pub async fn skip(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    date: NaiveDate,
) -> ApiResult<SeriesView> {
    caller.require(Permission::CreateOrders)?;
    let now = Utc::now();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let series = lock_visible(&tx, caller, id).await?;
    if date < today(now) || !series.dates(date, date)?.contains(&date) {
        return Err(ApiError::unprocessable(
            "not_a_series_date",
            format!("{date} is not a date to come of this series"),
        ));
    }
    let recorded = tx
        .query_typed_opt(
            "SELECT status, order_id FROM order_series_occurrences
              WHERE series_id = $1 AND occurs_on = $2 FOR UPDATE",
            &[p(&id), p(&date)],
        )
        .await?;
    let order_id: Option<Uuid> = match &recorded {
        Some(row) if row.col::<OccurrenceStatus>("status")? == OccurrenceStatus::Created => {
            row.col("order_id")?
        }
        _ => None,
    };
    if let Some(order_id) = order_id {
        if !cancel_if_undispatched(&tx, caller, order_id, "skipped in its series").await? {
            return Err(ApiError::conflict(
                "already_dispatched",
                format!("the order of {date} has a driver: cancel it by hand"),
            ));
        }
    }
    tx.execute_typed(
        "INSERT INTO order_series_occurrences (series_id, occurs_on, status, order_id)
         VALUES ($1, $2, 'SKIPPED', $3)
         ON CONFLICT (series_id, occurs_on)
         DO UPDATE SET status = 'SKIPPED', error = NULL, recorded_at = now()",
        &[p(&id), p(&date), p(&order_id)],
    )
    .await
    .context("recording the skip")?;
    let view = with_next(&tx, &series, now).await?;
    tx.commit().await.context("saving the skip")?;
    tracing::info!("series date skipped");
    Ok(view)
}

/// Whether an order of a series is still to be dispatched: open, no driver, not deleted.
const UNDISPATCHED: &str = "o.deleted_at IS NULL AND o.status IN ('ACTIVE', 'PENDING', 'CONFIRMED')
     AND NOT EXISTS (SELECT 1 FROM dispatches ds WHERE ds.order_id = o.id AND ds.unassigned_at IS NULL)";

/// Cancels a series' order through the one status path when no driver has it yet;
/// whether it did (an order already cancelled counts as done).
async fn cancel_if_undispatched(
    tx: &Transaction<'_>,
    caller: &Caller,
    order_id: Uuid,
    why: &str,
) -> ApiResult<bool> {
    let row = tx
        .query_typed_one(
            &format!(
                "SELECT o.status, ({UNDISPATCHED}) AS undispatched FROM orders o WHERE o.id = $1 FOR UPDATE"
            ),
            &[p(&order_id)],
        )
        .await?;
    if row.col::<OrderStatus>("status")? == OrderStatus::Cancelled {
        return Ok(true);
    }
    if !row.col::<bool>("undispatched")? {
        return Ok(false);
    }
    let cancel = StatusChange {
        order: Some(OrderStatus::Cancelled),
        driver: None,
        actor: Actor::User(caller.user_id),
        note: Some(why.to_owned()),
        location: None,
    };
    crate::orders::change_status(tx, order_id, &cancel).await?;
    Ok(true)
}

/// Edits a series, then its orders to come that no driver has yet (see the module doc).
#[tracing::instrument(name = "edit_order_series", skip_all, fields(%id))]
pub async fn edit(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    change: &SeriesEdit,
) -> ApiResult<SeriesView> {
    caller.require(Permission::CreateOrders)?;
    let now = Utc::now();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let before = lock_visible(&tx, caller, id).await?;
    let after = edited(&before, change, now)?;
    let owner = owner_of(&tx, after.user_id).await?.ok_or_else(|| {
        ApiError::unprocessable("inactive_owner", "the series' client is no longer active")
    })?;
    // What the next dates will be placed with is checked as on create; an edit that ends
    // the series (no date to come) or only pauses, resumes or moves the horizon is not.
    let reshaped = change.rule.is_some()
        || change.pickup_time.is_some()
        || change.arrival_time.is_some()
        || change.order.is_some();
    let ahead = today(now) + chrono::Duration::days(i64::from(MAX_HORIZON_DAYS));
    let has_dates = !after.dates(today(now), ahead)?.is_empty();
    if after.paused_at.is_none() && reshaped && has_dates {
        check_series(&tx, &owner, &after, now).await?;
    }
    // A date that could not be placed is tried again by the next run, with the series as
    // it now is.
    tx.execute_typed(
        "DELETE FROM order_series_occurrences WHERE series_id = $1 AND status = 'FAILED' AND occurs_on >= $2",
        &[p(&id), p(&today(now))],
    )
    .await
    .context("clearing failed dates")?;
    tx.execute_typed(
        "UPDATE order_series SET rule = $2, ends_on = $3, pickup_time = $4, arrival_time = $5,
                horizon_days = $6, template = $7, paused_at = $8
          WHERE id = $1",
        &[
            p(&id),
            p(&after.rule.as_str()),
            p(&after.ends_on),
            p(&after.pickup_time),
            p(&after.arrival_time),
            p(&after.horizon_days),
            p(&Value::Object(after.template.clone())),
            p(&after.paused_at),
        ],
    )
    .await
    .context("updating the series")?;
    let (updated, cancelled) = follow(&tx, caller, &before, &after, change, now).await?;
    let series = lock_visible(&tx, caller, id).await?;
    let view = with_next(&tx, &series, now).await?;
    tx.commit().await.context("saving the series")?;
    tracing::info!(updated, cancelled, "order series edited");
    Ok(view)
}

/// The series as `change` leaves it, every field checked; a 400 names each problem.
fn edited(before: &Series, change: &SeriesEdit, now: DateTime<Utc>) -> ApiResult<Series> {
    let mut errors = Vec::new();
    let mut after = before.clone();
    if let Some(text) = &change.rule {
        match Rule::parse("rule", text) {
            Ok(rule) => after.rule = rule,
            Err(e) => errors.push(e),
        }
    }
    if let Some(ends_on) = change.ends_on {
        after.ends_on = ends_on;
        if ends_on.is_some_and(|end| end < after.starts_on) {
            errors.push(FieldError::new("endsOn", "must not be before startsOn"));
        }
    }
    if change.pickup_time.is_some() || change.arrival_time.is_some() {
        let shown = |t: NaiveTime| t.format("%H:%M").to_string();
        let pickup = change
            .pickup_time
            .clone()
            .unwrap_or(shown(before.pickup_time));
        let arrival = change
            .arrival_time
            .clone()
            .unwrap_or(shown(before.arrival_time));
        match check_times(&pickup, &arrival) {
            Ok((p, a)) => (after.pickup_time, after.arrival_time) = (p, a),
            Err(e) => errors.extend(e),
        }
    }
    if let Some(days) = change.horizon_days {
        if (1..=MAX_HORIZON_DAYS).contains(&days) {
            after.horizon_days = days;
        } else {
            errors.push(FieldError::new(
                "horizonDays",
                format!("must be 1 to {MAX_HORIZON_DAYS}"),
            ));
        }
    }
    if let Some(paused) = change.paused {
        after.paused_at = if paused {
            before.paused_at.or(Some(now))
        } else {
            None
        };
    }
    if let Some(fields) = &change.order {
        for (field, value) in fields {
            if TEMPLATE_FIELDS.contains(&field.as_str()) {
                after.template.insert(field.clone(), value.clone());
            } else {
                errors.push(FieldError::new(
                    format!("order.{field}"),
                    "a series' addresses and times are not order fields to change here",
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(after)
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Brings the series' orders to come that no driver has yet in line with it: their times
/// and fields follow; a date the series no longer has (or all of them, while paused) has
/// its order cancelled and its record removed, so that a later rule or a resume that has
/// the date again places a new order (the next generation's). Returns (updated, cancelled).
async fn follow(
    tx: &Transaction<'_>,
    caller: &Caller,
    before: &Series,
    series: &Series,
    change: &SeriesEdit,
    now: DateTime<Utc>,
) -> ApiResult<(usize, usize)> {
    let from = today(now);
    let rows = tx
        .query_typed(
            &format!(
                "SELECT oc.occurs_on, oc.order_id, o.pickup_date_time, o.arrival_date_time
                   FROM order_series_occurrences oc JOIN orders o ON o.id = oc.order_id
                  WHERE oc.series_id = $1 AND oc.status = 'CREATED' AND oc.occurs_on >= $2
                    AND o.pickup_date_time > $3 AND {UNDISPATCHED}
                  ORDER BY oc.occurs_on
                    FOR UPDATE OF o"
            ),
            &[p(&series.id), p(&from), p(&now)],
        )
        .await
        .context("finding the series' orders to come")?;
    let last = rows
        .last()
        .map(|r| r.col::<NaiveDate>("occurs_on"))
        .transpose()?
        .unwrap_or(from);
    let kept = series.dates(from, last)?;
    let fields = template_update(change);
    let (mut updated, mut cancelled) = (0, 0);
    for row in &rows {
        let date: NaiveDate = row.col("occurs_on")?;
        let order_id: Uuid = row.col("order_id")?;
        if series.paused_at.is_some() || !kept.contains(&date) {
            // Locked above with no driver; checked again all the same.
            if !cancel_if_undispatched(tx, caller, order_id, "no longer in its series").await? {
                continue;
            }
            tx.execute_typed(
                "DELETE FROM order_series_occurrences WHERE series_id = $1 AND occurs_on = $2",
                &[p(&series.id), p(&date)],
            )
            .await?;
            cancelled += 1;
            continue;
        }
        // New times reach an order still at the series' old times of its date: one moved
        // by hand keeps its own.
        let retimed = change.pickup_time.is_some() || change.arrival_time.is_some();
        let at_old_times = (row.col("pickup_date_time")?, row.col("arrival_date_time")?)
            == before.times_on(date)?;
        let times = if retimed && at_old_times {
            let (pickup, arrival) = series.times_on(date)?;
            (Some(pickup), Some(arrival))
        } else {
            (None, None)
        };
        let update = OrderUpdate {
            pickup_date_time: times.0,
            arrival_date_time: times.1,
            ..fields.clone()
        };
        if update.is_empty() {
            continue;
        }
        let order = edit::lock_visible(tx, caller, OrderRef::Id(order_id)).await?;
        edit::update(tx, caller, &order, &update).await?;
        updated += 1;
    }
    if cancelled > 0 {
        tx.execute_typed(
            "UPDATE order_series SET generation = generation + 1 WHERE id = $1",
            &[p(&series.id)],
        )
        .await?;
    }
    Ok((updated, cancelled))
}

/// The order fields an edit changes, as an order update.
fn template_update(change: &SeriesEdit) -> OrderUpdate {
    let Some(fields) = &change.order else {
        return OrderUpdate::default();
    };
    let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_owned);
    let number = |name: &str| fields.get(name).and_then(Value::as_f64);
    let integer = |name: &str| fields.get(name).and_then(Value::as_i64);
    OrderUpdate {
        brokerage: text("brokerage"),
        client_attention: text("clientAttention"),
        pickup_notes: text("pickupNotes"),
        special_notes: text("specialNotes"),
        headcount: integer("headcount"),
        need_host: text("needHost"),
        hours_needed: number("hoursNeeded"),
        number_of_hosts: integer("numberOfHosts"),
        order_total: number("orderTotal"),
        tip: number("tip"),
        ..OrderUpdate::default()
    }
}
