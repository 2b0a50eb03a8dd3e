//! How auto-dispatch is doing over a look-back window (`GET /api/dispatch/offer-stats`,
//! and the ops page's dispatch panel): offers by outcome, the acceptance rate, offers per
//! order, the time from an order's first offer to its accept (p50, p95), and what is
//! pending or escalated now.

use serde::Serialize;

use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, GenericClient, RowExt},
    error::{ApiResult, Context},
    monitoring::overview::Window,
};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OfferStatistics {
    pub window_hours: i64,
    /// Offers made in the window, by what became of them.
    pub offers: i64,
    pub accepted: i64,
    pub declined: i64,
    pub expired: i64,
    pub withdrawn: i64,
    /// Accepted of those a driver answered or let lapse (withdrawn ones left out); `None`
    /// before any.
    pub acceptance_rate: Option<f64>,
    /// Offers per order offered in the window.
    pub offers_per_order: Option<f64>,
    /// From an order's first offer to the accept, of the orders accepted in the window.
    pub time_to_assignment_p50_seconds: Option<f64>,
    pub time_to_assignment_p95_seconds: Option<f64>,
    /// Orders escalated to dispatchers in the window.
    pub escalated: i64,
    /// Now: offers waiting for an answer, and escalations waiting for a dispatcher.
    pub pending_now: i64,
    pub open_escalations_now: i64,
}

/// The statistics of the `window` up to now (staff who dispatch).
pub async fn of_window(
    client: &impl GenericClient,
    caller: &Caller,
    window: Window,
) -> ApiResult<OfferStatistics> {
    caller.require(Permission::DispatchDrivers)?;
    let row = client
        .query_typed_one(
            "WITH w AS (SELECT * FROM dispatch_offers WHERE offered_at >= now() - make_interval(hours => $1::int)),
                  took AS (SELECT EXTRACT(EPOCH FROM (a.answered_at - first.offered_at))::float8 AS seconds
                             FROM w a
                             JOIN LATERAL (SELECT min(f.offered_at) AS offered_at FROM dispatch_offers f
                                            WHERE f.order_id = a.order_id) first ON true
                            WHERE a.status = 'ACCEPTED')
             SELECT (SELECT count(*) FROM w) AS offers,
                    (SELECT count(*) FROM w WHERE status = 'ACCEPTED') AS accepted,
                    (SELECT count(*) FROM w WHERE status = 'DECLINED') AS declined,
                    (SELECT count(*) FROM w WHERE status = 'EXPIRED') AS expired,
                    (SELECT count(*) FROM w WHERE status = 'WITHDRAWN') AS withdrawn,
                    (SELECT count(DISTINCT order_id) FROM w) AS orders,
                    (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FROM took) AS p50,
                    (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds) FROM took) AS p95,
                    (SELECT count(*) FROM dispatch_escalations
                      WHERE escalated_at >= now() - make_interval(hours => $1::int)) AS escalated,
                    (SELECT count(*) FROM dispatch_offers WHERE status = 'PENDING') AS pending_now,
                    (SELECT count(*) FROM dispatch_escalations WHERE resolved_at IS NULL) AS open_now",
            &[p(&i32::try_from(window.hours).unwrap_or(i32::MAX))],
        )
        .await
        .context("reading the offer statistics")?;
    let (accepted, declined, expired): (i64, i64, i64) = (
        row.col("accepted")?,
        row.col("declined")?,
        row.col("expired")?,
    );
    let offers: i64 = row.col("offers")?;
    let orders: i64 = row.col("orders")?;
    let answered = accepted + declined + expired;
    let ratio = |a: i64, b: i64| (b > 0).then(|| (a as f64 / b as f64 * 1000.0).round() / 1000.0);
    let round = |s: Option<f64>| s.map(|s| (s * 10.0).round() / 10.0);
    Ok(OfferStatistics {
        window_hours: window.hours,
        offers,
        accepted,
        declined,
        expired,
        withdrawn: row.col("withdrawn")?,
        acceptance_rate: ratio(accepted, answered),
        offers_per_order: ratio(offers, orders),
        time_to_assignment_p50_seconds: round(row.col("p50")?),
        time_to_assignment_p95_seconds: round(row.col("p95")?),
        escalated: row.col("escalated")?,
        pending_now: row.col("pending_now")?,
        open_escalations_now: row.col("open_now")?,
    })
}
