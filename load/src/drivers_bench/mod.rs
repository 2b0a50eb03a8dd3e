//! The drivers benchmark (`docs/drivers-performance.md`): on a database of 100 000
//! drivers (10 % on shift) and millions of recorded points,
//!
//! 1. the nearest-driver statement's plan (`EXPLAIN (ANALYZE, BUFFERS)`) and its latency
//!    through the shared query function on a warm connection, beside `SELECT 1`;
//! 2. the release gateway at a fixed offered rate (open loop): nearest drivers, one-point
//!    reports and 50-point batches, beside the baseline server in the same run;
//! 3. auto-dispatch: candidate ranking alone, order created → first offer through the
//!    gateway, and an offer's deadline → the next offer;
//! 4. the original's production gate: 30 drivers reporting for 120 s, under 1 % errors
//!    and under 18 database connections.
//!
//! `statement`, `gateway`, `dispatch` and `gate` measure one each; `report` writes them up.

mod dispatch;
mod gate;
mod gateway;
mod report;
mod statement;
#[cfg(test)]
mod tests;

use std::{sync::Arc, time::Duration};

use shared::{config::DEFAULT_STATEMENT_CACHE, db::Connection};

use crate::{
    bench::BenchReport,
    durability::Durability,
    fleet,
    run::{self, Phase, PhaseResult, Target},
    traffic::Route,
    LoadError,
};
use dispatch::DispatchRun;
use gate::GateRun;
use gateway::GatewayPhases;
use report::Report;
use statement::StatementTiming;

#[derive(Debug, Clone)]
pub struct DriversBenchConfig {
    pub api_url: String,
    pub baseline_url: String,
    pub database_url: String,
    pub seed_drivers: u64,
    pub seed_points: u64,
    pub fleet_drivers: usize,
    pub staff: usize,
    pub rate: f64,
    pub duration: Duration,
    /// How long each phase runs unmeasured first, at its rate: the goals are for a warm
    /// pool, so connections, the authorizer's cache and the accounts' first requests are
    /// paid before the clock starts.
    pub warm_up: Duration,
    /// How long the production gate runs (the original's 120 s).
    pub gate_duration: Duration,
    pub command: String,
}

/// Seeds the database unless an earlier run did, then measures the statement, the
/// gateway and the production gate, and returns the report. Progress goes to stderr.
/// Only a failing setup (the database, the seeding) stops the run; a measurement that
/// fails is recorded, the others still run, and the report says first what is missing.
pub async fn run(config: &DriversBenchConfig) -> Result<BenchReport, LoadError> {
    // The statement is timed as the functions run it, through a connection's prepared
    // statements; seeding and counting need none.
    let db = Connection::new(
        fleet::connect(&config.database_url).await?,
        DEFAULT_STATEMENT_CACHE,
    );
    seed_unless_seeded(db.uncached(), config).await?;
    let database = DatabaseSize::count(db.uncached()).await?;
    let durability = Durability::of(&config.database_url).await?;
    let statement = StatementTiming::measure(&db).await;
    let (gateway, dispatch) = match GatewayPhases::measure(config).await {
        Ok((phases, senders)) => (
            Ok(phases),
            DispatchRun::measure(config, &db, &senders.fleet, &senders.baseline).await,
        ),
        Err(e) => (
            Err(e),
            Err(LoadError::Setup(
                "not run: the fleet it uses was not set up".into(),
            )),
        ),
    };
    let gate = GateRun::measure(config).await;
    let report = Report {
        config,
        database,
        durability,
        statement,
        gateway,
        dispatch,
        gate,
    };
    for failure in report.failures_text() {
        eprintln!("failed: {failure}");
    }
    Ok(BenchReport {
        markdown: report.render(),
        complete: report.complete(),
    })
}

/// Seeds the configured drivers and points, unless the database has seeded drivers
/// already: seeding takes minutes, and a second run measures the same data.
async fn seed_unless_seeded(
    db: &tokio_postgres::Client,
    config: &DriversBenchConfig,
) -> Result<(), LoadError> {
    let seeded: i64 = db
        .query_one(
            "SELECT count(*) FROM users WHERE email LIKE 'seed-driver-%'",
            &[],
        )
        .await
        .map_err(|e| LoadError::Setup(e.to_string()))?
        .get(0);
    if seeded == 0 {
        eprintln!(
            "seeding {} drivers and about {} points",
            config.seed_drivers, config.seed_points
        );
        fleet::seed(db, config.seed_drivers, config.seed_points).await?;
    }
    Ok(())
}

/// What the database holds, as the report states it: the figures are measured on it.
struct DatabaseSize {
    drivers: i64,
    on_duty: i64,
    points: i64,
}

impl DatabaseSize {
    async fn count(db: &tokio_postgres::Client) -> Result<Self, LoadError> {
        let counts = db
            .query_one(
                "SELECT (SELECT count(*) FROM drivers), (SELECT count(*) FROM drivers WHERE is_on_duty),
                    (SELECT count(*) FROM driver_locations)",
                &[],
            )
            .await
            .map_err(|e| LoadError::Setup(e.to_string()))?;
        Ok(Self {
            drivers: counts.get(0),
            on_duty: counts.get(1),
            points: counts.get(2),
        })
    }
}

/// The measured and unmeasured lengths of one phase.
#[derive(Debug, Clone, Copy)]
struct Lengths {
    warm_up: Duration,
    measured: Duration,
}

/// Sends `route` to `target` at `rate` for the warm-up unmeasured, then for the measured
/// length.
async fn phase<T: Target>(
    target: &Arc<T>,
    route: Route,
    rate: f64,
    lengths: Lengths,
    label: &str,
) -> PhaseResult {
    let warm_up = Phase {
        rate,
        duration: lengths.warm_up,
    };
    let _ = run::run_phase(
        target,
        &[route],
        warm_up,
        0,
        &format!("{label} (warm-up)"),
        true,
    )
    .await;
    // The measured requests number on from the warm-up's, so none repeats one of them.
    let first = (rate * lengths.warm_up.as_secs_f64()).round() as u64;
    run::run_phase(
        target,
        &[route],
        Phase {
            rate,
            duration: lengths.measured,
        },
        first,
        label,
        false,
    )
    .await
}
