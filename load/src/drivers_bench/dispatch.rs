//! Auto-dispatch at fleet scale (thousands of drivers on shift):
//!
//! 1. candidate ranking on its own: `shared::autodispatch::candidates::rank` for orders at
//!    spots spread over the area, on a warm connection beside `SELECT 1` on it;
//! 2. order created → first offer through the gateway: staff place on-demand orders at a
//!    fixed rate with auto-dispatch on, and the create answers once the order is offered
//!    (or escalated), beside the baseline server; the time from each order's row to its
//!    first offer's row is the goal's figure, the create's own latency shown beside it;
//! 3. expiry → next offer: nobody answers those offers, so each lapses at its deadline
//!    through the offer-expiry queue, and the delay from the deadline to the next offer
//!    is read from the offers' rows.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use hdrhistogram::Histogram;
use shared::{
    autodispatch::{candidates, settings},
    db::Connection,
    orders::rules::{OrderType, VehicleType},
    planning::inputs::PlanOrder,
};

use super::{
    phase,
    statement::{time_calls, Percentiles},
    DriversBenchConfig, Lengths,
};
use crate::{baseline::Baseline, fleet, fleet::Fleet, run::PhaseResult, traffic::Route, LoadError};

/// How long a driver has to accept in the run: the least the settings allow, so offers
/// lapse within the run.
const ACCEPTANCE_SECONDS: i32 = 10;
/// Rankings timed (a tenth first, untimed).
const RANKINGS: usize = 500;

pub(super) struct DispatchRun {
    pub rankings: usize,
    pub ranking: Percentiles,
    pub select_one: Percentiles,
    /// Candidates found per ranking, on average.
    pub candidates: f64,
    pub create: PhaseResult,
    pub baseline: PhaseResult,
    /// Orders the phase placed, and of them those offered to a driver.
    pub orders: i64,
    pub offered: i64,
    /// From an order's creation to its first offer, by the rows' times.
    pub first_offer: Option<Percentiles>,
    /// From an offer's deadline to the next offer of its order.
    pub next_offer: Option<Percentiles>,
    pub lapsed: usize,
}

impl DispatchRun {
    pub async fn measure(
        config: &DriversBenchConfig,
        db: &Connection,
        fleet: &Arc<Fleet>,
        baseline: &Arc<Baseline>,
    ) -> Result<Self, LoadError> {
        let setup = |e: tokio_postgres::Error| LoadError::Setup(format!("auto-dispatch: {e}"));
        db.uncached()
            .execute(
                "UPDATE auto_dispatch_settings SET enabled = true, acceptance_seconds = $1
                  WHERE order_type = 'ON_DEMAND'",
                &[&ACCEPTANCE_SECONDS],
            )
            .await
            .map_err(setup)?;
        let rules = settings::of(db, OrderType::OnDemand)
            .await
            .map_err(|e| LoadError::Setup(e.to_string()))?;

        eprintln!("timing candidate ranking");
        let rankings =
            (RANKINGS as f64 * config.rate / 200.0).clamp(20.0, RANKINGS as f64) as usize;
        let found = std::sync::atomic::AtomicUsize::new(0);
        for i in 0..rankings / 10 {
            let _ = candidates::rank(db, &order_at(i), &rules, &[], Utc::now()).await;
        }
        let ranking = time_calls(rankings, |i| {
            let (rules, found) = (&rules, &found);
            async move {
                let ranked = candidates::rank(db, &order_at(i + 7), rules, &[], Utc::now())
                    .await
                    .map_err(|e| LoadError::Setup(e.to_string()))?;
                found.fetch_add(ranked.len(), std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }
        })
        .await?;
        let select_one = time_calls(rankings, |_| async move {
            db.query_typed_one("SELECT 1", &[])
                .await
                .map(|_| ())
                .map_err(|e| LoadError::Setup(e.to_string()))
        })
        .await?;

        let places = fleet::order_places(db.uncached()).await?;
        eprintln!("placing orders at {} zip codes of the area", places.len());
        fleet.place_orders_at(places);
        let started = Utc::now();
        // A quarter of the routes' rate: each order takes a driver's pending offer.
        let rate = (config.rate / 4.0).max(1.0);
        let lengths = Lengths {
            warm_up: config.warm_up,
            measured: config.duration,
        };
        let create = phase(
            fleet,
            Route::OnDemandOffered,
            rate,
            lengths,
            "orders offered",
        )
        .await;
        let base = phase(
            baseline,
            Route::Baseline,
            rate,
            lengths,
            "baseline (dispatch)",
        )
        .await;
        let counts = db
            .uncached()
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM dispatch_offers f WHERE f.order_id = o.id))
                   FROM orders o WHERE o.created_at >= $1 AND o.order_type = 'ON_DEMAND'",
                &[&started],
            )
            .await
            .map_err(setup)?;

        let firsts = db
            .uncached()
            .query(
                "SELECT (EXTRACT(EPOCH FROM (f.offered_at - o.created_at)) * 1000000)::int8
                   FROM orders o
                   JOIN LATERAL (SELECT min(offered_at) AS offered_at FROM dispatch_offers
                                  WHERE order_id = o.id) f ON f.offered_at IS NOT NULL
                  WHERE o.created_at >= $1 AND o.order_type = 'ON_DEMAND'",
                &[&started],
            )
            .await
            .map_err(setup)?;
        let first_offer = percentiles(firsts.iter().map(|r| r.get::<_, i64>(0)));
        // Let every offer of the phase lapse and be followed by the next.
        eprintln!("waiting for the offers to lapse");
        tokio::time::sleep(Duration::from_secs(ACCEPTANCE_SECONDS as u64 + 5)).await;
        let delays = db
            .uncached()
            .query(
                "SELECT (EXTRACT(EPOCH FROM (n.offered_at - e.expires_at)) * 1000000)::int8
                   FROM dispatch_offers e
                   JOIN dispatch_offers n ON n.order_id = e.order_id AND n.attempt = e.attempt + 1
                  WHERE e.status = 'EXPIRED' AND e.offered_at >= $1",
                &[&started],
            )
            .await
            .map_err(setup)?;
        let next_offer = percentiles(delays.iter().map(|r| r.get::<_, i64>(0)));
        Ok(Self {
            rankings,
            ranking,
            select_one,
            candidates: found.into_inner() as f64 / rankings as f64,
            create,
            baseline: base,
            orders: counts.get(0),
            offered: counts.get(1),
            first_offer,
            next_offer,
            lapsed: delays.len(),
        })
    }
}

/// An on-demand order at spot `i` of the area, picked up in 20 minutes and delivered a
/// couple of kilometres away within the hour after: not stored, ranking reads only the
/// drivers.
fn order_at(i: usize) -> PlanOrder {
    let (lat, lng) = fleet::spot(i as u64 * 104_729 + 3);
    let now = Utc::now();
    PlanOrder {
        id: uuid::Uuid::new_v4(),
        order_number: format!("BENCH-{i}"),
        order_type: OrderType::OnDemand,
        pickup_date_time: now + chrono::Duration::minutes(20),
        arrival_date_time: now + chrono::Duration::minutes(80),
        headcount: None,
        need_host: None,
        weight_lb: Some(10.0),
        vehicle_type: Some(VehicleType::Car),
        updated_at: now,
        pickup_lat: Some(lat),
        pickup_lng: Some(lng),
        delivery_lat: Some(lat + 0.02),
        delivery_lng: Some(lng + 0.02),
        service_date: now.date_naive(),
        taken: None,
        driver_id: None,
        driver_status: None,
    }
}

/// Percentiles in milliseconds of microsecond samples; `None` without any (negative
/// ones, a next offer made a moment before the deadline by the sweep, count as zero).
fn percentiles(samples: impl Iterator<Item = i64>) -> Option<Percentiles> {
    let mut histogram = Histogram::<u64>::new(3).ok()?;
    for us in samples {
        let _ = histogram.record(us.max(0) as u64);
    }
    if histogram.is_empty() {
        return None;
    }
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    Some(Percentiles {
        p50: ms(0.5),
        p99: ms(0.99),
        max: histogram.max() as f64 / 1000.0,
    })
}
