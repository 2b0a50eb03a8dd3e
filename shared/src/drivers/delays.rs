//! Predicted delays: when a location report's ETA to the drop passes the order's window
//! end by the threshold (`DELAY_THRESHOLD_MINUTES`, default 10), the delay is recorded
//! once, with a note in the order's history, a `delivery.delayed` webhook to its partner
//! and an email to its customer; when a later ETA is back inside the window, the delay
//! closes with `delivery.on_time_again`, and a further slip is a new delay. Between the
//! window's end and the threshold nothing changes, so an ETA hovering there does not
//! flap. Dispatchers hear through an alert per delayed order, raised and resolved by
//! [`alert`] each minute (the alert evaluator's run), so the location route needs no
//! access to the alert store.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{arrivals::OpenStop, eta::Timed};
use crate::{
    db::{p, RowExt, Transaction},
    error::{ApiResult, Context},
    monitoring::{
        alerts::{self, Observation},
        Severity,
    },
    orders::{
        self, customer_notices,
        partner_events::{enqueue_event, WebhookEvent},
        Actor,
    },
    AppState,
};

/// A change in a delivery's prediction that a report makes.
#[derive(Debug, Clone, PartialEq)]
pub enum DelayChange {
    /// Predicted past its window's end by the threshold or more.
    Slipped {
        order_id: Uuid,
        delivery_id: Uuid,
        window_end: DateTime<Utc>,
        predicted: DateTime<Utc>,
    },
    /// A delayed delivery predicted inside its window again.
    Recovered {
        order_id: Uuid,
        window_end: DateTime<Utc>,
        predicted: DateTime<Utc>,
    },
}

/// What the report's times mean for each delivery's delay.
pub fn changes(stops: &[OpenStop], timed: &Timed, threshold: Duration) -> Vec<DelayChange> {
    let mut changes = Vec::new();
    for (i, delivery_id) in timed.delivery_ids.iter().enumerate() {
        let Some(stop) = stops.iter().find(|s| s.delivery_id == *delivery_id) else {
            continue;
        };
        let predicted = timed.dropoffs[i];
        let window_end = stop.window_end;
        if !stop.delayed && predicted >= window_end + threshold {
            changes.push(DelayChange::Slipped {
                order_id: stop.order_id,
                delivery_id: *delivery_id,
                window_end,
                predicted,
            });
        } else if stop.delayed && predicted <= window_end {
            changes.push(DelayChange::Recovered {
                order_id: stop.order_id,
                window_end,
                predicted,
            });
        }
    }
    changes
}

fn clock(at: DateTime<Utc>) -> String {
    at.format("%H:%M UTC").to_string()
}

/// Records the changes inside the report's transaction: the delay rows, the history
/// notes, the partners' webhooks and the customers' emails.
pub async fn record(tx: &Transaction<'_>, changes: &[DelayChange]) -> ApiResult<()> {
    for change in changes {
        match *change {
            DelayChange::Slipped {
                order_id,
                delivery_id,
                window_end,
                predicted,
            } => {
                // A concurrent report may have recorded it first: one open delay per order.
                let inserted = tx
                    .query_typed_opt(
                        "INSERT INTO delivery_delays (order_id, delivery_id, window_end, predicted_dropoff)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (order_id) WHERE recovered_at IS NULL DO NOTHING RETURNING id",
                        &[p(&order_id), p(&delivery_id), p(&window_end), p(&predicted)],
                    )
                    .await
                    .context("recording the delay")?;
                if inserted.is_none() {
                    continue;
                }
                let late = (predicted - window_end).num_minutes();
                let note = format!(
                    "predicted to arrive at {}, {late} min after its window ends at {}",
                    clock(predicted),
                    clock(window_end)
                );
                let history_id = orders::record_note(tx, order_id, Actor::System, &note).await?;
                let details = json!({
                    "predictedArrival": predicted,
                    "windowEnd": window_end,
                    "minutesLate": late,
                });
                enqueue_event(
                    tx,
                    order_id,
                    Some(history_id),
                    WebhookEvent::Delayed,
                    details,
                )
                .await?;
                customer_notices::enqueue_delay(tx, order_id, history_id, predicted).await?;
                tracing::info!(%order_id, minutes_late = late, "delivery predicted late");
            }
            DelayChange::Recovered {
                order_id,
                window_end,
                predicted,
            } => {
                let closed = tx
                    .execute_typed(
                        "UPDATE delivery_delays SET recovered_at = now(), predicted_dropoff = $2
                          WHERE order_id = $1 AND recovered_at IS NULL",
                        &[p(&order_id), p(&predicted)],
                    )
                    .await
                    .context("closing the delay")?;
                if closed == 0 {
                    continue;
                }
                let note = format!(
                    "back on time: predicted to arrive at {}, inside its window (ends {})",
                    clock(predicted),
                    clock(window_end)
                );
                let history_id = orders::record_note(tx, order_id, Actor::System, &note).await?;
                let details = json!({ "predictedArrival": predicted, "windowEnd": window_end });
                enqueue_event(
                    tx,
                    order_id,
                    Some(history_id),
                    WebhookEvent::OnTimeAgain,
                    details,
                )
                .await?;
                tracing::info!(%order_id, "delivery back on time");
            }
        }
    }
    Ok(())
}

/// What a run of [`alert`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DelayAlerts {
    pub raised: usize,
    pub resolved: usize,
}

/// The dispatchers' alerts: raised for each open delay not yet alerted, resolved for each
/// alerted delay that has recovered or whose order has settled.
pub async fn alert(state: &AppState) -> ApiResult<DelayAlerts> {
    let client = state.db.get().await?;
    let mut done = DelayAlerts::default();
    let raised = client
        .query_typed(
            "UPDATE delivery_delays dd SET alerted_at = now()
               FROM orders o
              WHERE o.id = dd.order_id AND dd.recovered_at IS NULL AND dd.alerted_at IS NULL
                AND order_is_open(o.status)
          RETURNING o.order_number, dd.window_end, dd.predicted_dropoff",
            &[],
        )
        .await
        .context("alerting delays")?;
    for row in &raised {
        let number: String = row.col("order_number")?;
        let window_end: DateTime<Utc> = row.col("window_end")?;
        let predicted: DateTime<Utc> = row.col("predicted_dropoff")?;
        let seen = delay_alert(&number, Some((window_end, predicted)));
        if let Err(e) = alerts::apply(state, &seen, Utc::now()).await {
            tracing::error!(error = %e, "a delay's alert was not raised");
        }
        done.raised += 1;
    }
    // Settled orders' delays close here, so none stays open (and alerted) for good.
    let settled = client
        .query_typed(
            "UPDATE delivery_delays dd SET recovered_at = COALESCE(dd.recovered_at, now()),
                    alerted_at = NULL
               FROM orders o
              WHERE o.id = dd.order_id AND dd.alerted_at IS NOT NULL
                AND (dd.recovered_at IS NOT NULL OR NOT order_is_open(o.status))
          RETURNING o.order_number",
            &[],
        )
        .await
        .context("resolving delays' alerts")?;
    for row in &settled {
        let seen = delay_alert(&row.col::<String>("order_number")?, None);
        if let Err(e) = alerts::apply(state, &seen, Utc::now()).await {
            tracing::error!(error = %e, "a delay's alert did not resolve");
        }
        done.resolved += 1;
    }
    Ok(done)
}

/// The alert of a delayed order (one per order): firing with its prediction, or resolved
/// (`None`).
fn delay_alert(order_number: &str, delay: Option<(DateTime<Utc>, DateTime<Utc>)>) -> Observation {
    let late = delay.map(|(end, predicted)| (predicted - end).num_minutes());
    Observation {
        rule: "delivery_delayed".to_owned(),
        group_key: order_number.to_owned(),
        severity: Severity::Medium,
        summary: match (delay, late) {
            (Some((_, predicted)), Some(late)) => format!(
                "order {order_number} is predicted {late} min late (at {})",
                clock(predicted)
            ),
            _ => format!("order {order_number} is back on time or closed"),
        },
        value: late.unwrap_or(0) as f64,
        threshold: 0.0,
        firing: delay.is_some(),
        cleared: delay.is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::status::DriverStatus;

    fn stop(delayed: bool, window_end: DateTime<Utc>) -> OpenStop {
        OpenStop {
            order_id: Uuid::new_v4(),
            order_number: "CR-1".into(),
            delivery_id: Uuid::new_v4(),
            driver_status: Some(DriverStatus::PickedUp),
            pickup: None,
            dropoff: None,
            near_pickup: false,
            near_dropoff: false,
            window_end,
            delayed,
            announced: None,
            arriving_announced: (false, false),
        }
    }

    #[test]
    fn a_delay_is_recorded_once_past_the_threshold_and_closed_inside_the_window() {
        let end = Utc::now();
        let threshold = Duration::minutes(10);
        let predicted = |stop: &OpenStop, at: DateTime<Utc>| {
            let mut timed = Timed::default();
            timed.push(stop.delivery_id, (None, at));
            changes(std::slice::from_ref(stop), &timed, threshold)
        };
        let on_time = stop(false, end);
        assert!(predicted(&on_time, end - Duration::minutes(5)).is_empty());
        assert!(
            predicted(&on_time, end + Duration::minutes(9)).is_empty(),
            "inside the threshold"
        );
        assert!(matches!(
            predicted(&on_time, end + Duration::minutes(10))[..],
            [DelayChange::Slipped { .. }]
        ));
        let late = stop(true, end);
        assert!(
            predicted(&late, end + Duration::minutes(30)).is_empty(),
            "recorded already"
        );
        assert!(
            predicted(&late, end + Duration::minutes(3)).is_empty(),
            "not yet inside the window"
        );
        assert!(matches!(
            predicted(&late, end)[..],
            [DelayChange::Recovered { .. }]
        ));
    }
}
