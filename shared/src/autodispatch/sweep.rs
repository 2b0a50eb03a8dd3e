//! The safety net of auto-dispatch, each minute (`dispatch-offer-sweep`), and the one
//! place that writes escalations' alerts.

use chrono::Utc;
use serde::Serialize;

use super::{
    answers::expire,
    offers::{offer_next, EscalationReason, Outcome},
};
use crate::{
    db::{p, RowExt},
    error::{ApiResult, Context},
    monitoring::{
        alerts::{self, Observation},
        Severity,
    },
    AppState,
};

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
