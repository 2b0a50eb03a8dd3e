//! The nearest-driver statement on its own: its plan, and its latency through the shared
//! query function on a warm connection beside `SELECT 1` on the same connection, so the
//! figure excludes the gateway and reads against the connection's own round trip.

use std::{future::Future, time::Instant};

use hdrhistogram::Histogram;
use shared::{
    db::Connection,
    drivers::roster::{self, NearQuery},
};
use tokio_postgres::types::Type;

use crate::{fleet, LoadError};

/// Calls timed of each query.
const RUNS: usize = 2000;
/// Calls made first, untimed, so the timed ones find the pages cached.
const WARM_UP_CALLS: usize = 200;

/// What the statement measured.
pub(super) struct StatementTiming {
    pub runs: usize,
    /// `EXPLAIN (ANALYZE, BUFFERS)` of one search, a line each.
    pub plan: Vec<String>,
    pub nearest: Percentiles,
    pub select_one: Percentiles,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl StatementTiming {
    pub async fn measure(db: &Connection) -> Result<Self, LoadError> {
        eprintln!("timing the nearest-driver statement");
        let plan = explain(db).await?;
        for i in 0..WARM_UP_CALLS {
            roster::nearest_available(db, near_query(i))
                .await
                .map_err(|e| LoadError::Setup(e.to_string()))?;
        }
        let nearest = time_calls(RUNS, |i| async move {
            roster::nearest_available(db, near_query(i))
                .await
                .map(|_| ())
                .map_err(|e| LoadError::Setup(e.to_string()))
        })
        .await?;
        let select_one = time_calls(RUNS, |_| async move {
            db.query_typed_one("SELECT 1", &[])
                .await
                .map(|_| ())
                .map_err(|e| LoadError::Setup(e.to_string()))
        })
        .await?;
        Ok(Self {
            runs: RUNS,
            plan,
            nearest,
            select_one,
        })
    }
}

/// The plan of one search (10 km, 10 drivers) at a fixed spot of the area, run.
async fn explain(db: &Connection) -> Result<Vec<String>, LoadError> {
    let sql = roster::nearest_sql();
    let probe = fleet::spot(12345);
    let wkt = format!("SRID=4326;POINT({} {})", probe.1, probe.0);
    let plan_rows = db
        .query_typed(
            &format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"),
            &[
                (&wkt, Type::TEXT),
                (&10_000.0f64, Type::FLOAT8),
                (&10i64, Type::INT8),
            ],
        )
        .await
        .map_err(|e| LoadError::Setup(format!("explain: {e}")))?;
    Ok(plan_rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

/// Search number `i`: 10 drivers within 10 km of a spot spread over the area.
fn near_query(i: usize) -> NearQuery {
    let (lat, lng) = fleet::spot(i as u64 * 7919 + 1);
    NearQuery {
        point: shared::geo::Point { lat, lng },
        radius_m: 10_000.0,
        limit: 10,
    }
}

/// Latency percentiles of `runs` calls of `call`, one after the other.
pub(super) async fn time_calls<F, Fut>(runs: usize, mut call: F) -> Result<Percentiles, LoadError>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<(), LoadError>>,
{
    let mut histogram = Histogram::<u64>::new(3).map_err(|e| LoadError::Setup(e.to_string()))?;
    for i in 0..runs {
        let started = Instant::now();
        call(i).await?;
        let _ = histogram.record(started.elapsed().as_micros() as u64);
    }
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    Ok(Percentiles {
        p50: ms(0.5),
        p99: ms(0.99),
        max: histogram.max() as f64 / 1000.0,
    })
}
