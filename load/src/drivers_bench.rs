//! The drivers benchmark (`docs/drivers-performance.md`): on a database of 100 000
//! drivers (10 % on shift) and millions of recorded points,
//!
//! 1. the nearest-driver statement's plan (`EXPLAIN (ANALYZE, BUFFERS)`) and its latency
//!    through the shared query function on a warm connection, beside `SELECT 1`;
//! 2. the release gateway at a fixed offered rate (open loop): nearest drivers, one-point
//!    reports and 50-point batches, beside the baseline server in the same run;
//! 3. the original's production gate: 30 drivers reporting for 120 s, under 1 % errors
//!    and under 18 database connections.

use std::{
    fmt::Write as _,
    sync::Arc,
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use tokio_postgres::types::Type;

use crate::{
    baseline::Baseline,
    fleet::{self, Fleet},
    report,
    run::{self, Phase, PhaseResult, Target},
    traffic::Route,
    LoadError,
};

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
    pub command: String,
}

/// The goals of the issue, on this machine kind with everything local.
const QUERY_P99_GOAL_MS: f64 = 2.0;
const NEAREST_P99_GOAL_MS: f64 = 20.0;
const POINT_P99_GOAL_MS: f64 = 20.0;
const BATCH_P99_GOAL_MS: f64 = 40.0;
const GATE_ERROR_RATE: f64 = 0.01;
const GATE_CONNECTIONS: i64 = 18;

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

/// The benchmark's own connections are named, so the gate counts only the API's.
const OWN_CONNECTIONS: &str = "load-tool";

async fn connect(url: &str) -> Result<tokio_postgres::Client, LoadError> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| LoadError::Setup(format!("DATABASE_URL: {e}")))?;
    config.application_name(OWN_CONNECTIONS);
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| LoadError::Setup(format!("database: {e}")))?;
    tokio::spawn(connection);
    Ok(client)
}

/// Latency percentiles of `runs` calls of `call`, in milliseconds.
async fn time_calls<F, Fut>(runs: usize, mut call: F) -> Result<(f64, f64, f64), LoadError>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), LoadError>>,
{
    let mut histogram = Histogram::<u64>::new(3).map_err(|e| LoadError::Setup(e.to_string()))?;
    for i in 0..runs {
        let started = Instant::now();
        call(i).await?;
        let _ = histogram.record(started.elapsed().as_micros() as u64);
    }
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    Ok((ms(0.5), ms(0.99), histogram.max() as f64 / 1000.0))
}

/// How long each phase runs unmeasured first, at its rate: the goals are for a warm
/// pool, so connections, the authorizer's cache and the accounts' first requests are paid
/// before the clock starts.
const WARM_UP: Duration = Duration::from_secs(5);

async fn phase<T: Target>(
    target: &Arc<T>,
    route: Route,
    rate: f64,
    duration: Duration,
    label: &str,
) -> PhaseResult {
    let warm_up = Phase {
        rate,
        duration: WARM_UP,
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
    let first = (rate * WARM_UP.as_secs_f64()).round() as u64;
    run::run_phase(
        target,
        &[route],
        Phase { rate, duration },
        first,
        label,
        false,
    )
    .await
}

pub async fn run(config: &DriversBenchConfig) -> Result<String, LoadError> {
    let db = connect(&config.database_url).await?;
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
        fleet::seed(&db, config.seed_drivers, config.seed_points).await?;
    }
    let counts = db
        .query_one(
            "SELECT (SELECT count(*) FROM drivers), (SELECT count(*) FROM drivers WHERE is_on_duty),
                    (SELECT count(*) FROM driver_locations)",
            &[],
        )
        .await
        .map_err(|e| LoadError::Setup(e.to_string()))?;
    let (drivers, on_duty, points): (i64, i64, i64) = (counts.get(0), counts.get(1), counts.get(2));

    // 1. The statement.
    eprintln!("timing the nearest-driver statement");
    let sql = shared::drivers::roster::nearest_sql();
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
    let plan: Vec<String> = plan_rows.iter().map(|r| r.get::<_, String>(0)).collect();
    let query = |i: usize| {
        let (lat, lng) = fleet::spot(i as u64 * 7919 + 1);
        shared::drivers::roster::NearQuery {
            point: shared::geo::Point { lat, lng },
            radius_m: 10_000.0,
            limit: 10,
        }
    };
    for i in 0..200 {
        shared::drivers::roster::nearest_available(&db, query(i))
            .await
            .map_err(|e| LoadError::Setup(e.to_string()))?;
    }
    let runs = 2000;
    let (q50, q99, qmax) = time_calls(runs, |i| {
        let db = &db;
        async move {
            shared::drivers::roster::nearest_available(db, query(i))
                .await
                .map(|_| ())
                .map_err(|e| LoadError::Setup(e.to_string()))
        }
    })
    .await?;
    let (s50, s99, _) = time_calls(runs, |_| {
        let db = &db;
        async move {
            db.query_one("SELECT 1", &[])
                .await
                .map(|_| ())
                .map_err(|e| LoadError::Setup(e.to_string()))
        }
    })
    .await?;

    // 2. The gateway.
    eprintln!(
        "preparing the fleet: {} drivers on shift, {} staff",
        config.fleet_drivers, config.staff
    );
    let fleet = Arc::new(
        Fleet::create(
            &config.api_url,
            &config.database_url,
            config.fleet_drivers,
            config.staff,
        )
        .await?,
    );
    let baseline = Arc::new(Baseline::new(&config.baseline_url)?);
    let (rate, duration) = (config.rate, config.duration);
    let nearest = phase(
        &fleet,
        Route::NearestDrivers,
        rate,
        duration,
        "nearest drivers",
    )
    .await;
    let base = phase(&baseline, Route::Baseline, rate, duration, "baseline").await;
    let point = phase(
        &fleet,
        Route::LocationPoint,
        rate,
        duration,
        "one-point reports",
    )
    .await;
    let batch = phase(
        &fleet,
        Route::LocationBatch,
        rate,
        duration,
        "50-point batches",
    )
    .await;

    // 3. The gate.
    eprintln!("the production gate: 30 drivers for 120 s");
    let gate_fleet = Arc::new(Fleet::create(&config.api_url, &config.database_url, 30, 0).await?);
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        let url = config.database_url.clone();
        tokio::spawn(async move {
            let db = connect(&url).await?;
            let mut peak = 0i64;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                let n: i64 = db
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity
                          WHERE datname = current_database() AND backend_type = 'client backend'
                            AND application_name NOT LIKE 'load-%'",
                        &[],
                    )
                    .await
                    .map_err(|e| LoadError::Setup(e.to_string()))?
                    .get(0);
                peak = peak.max(n);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Ok::<i64, LoadError>(peak)
        })
    };
    let gate = phase(
        &gate_fleet,
        Route::LocationPoint,
        10.0,
        Duration::from_secs(120),
        "gate",
    )
    .await;
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let peak_connections = sampler
        .await
        .map_err(|e| LoadError::Setup(e.to_string()))??;

    let p99 = |r: &PhaseResult| r.total().percentile_ms(99.0);
    let base_p99 = p99(&base);
    let mut out = String::new();
    let _ = writeln!(out, "# Drivers and tracking: performance\n");
    let _ = writeln!(
        out,
        "Measured by `{}` on {} drivers ({} on shift) and {} recorded points, release build, \
         everything on 127.0.0.1. Open loop: a fixed arrival rate, latency from the intended \
         send time. The machine is shared and noisy: read the ratios to the baseline measured \
         in the same run, not the milliseconds alone.\n",
        config.command, drivers, on_duty, points
    );
    let _ = writeln!(out, "## Goals\n");
    let _ = writeln!(
        out,
        "| goal | measured | baseline (same run) | ratio | |\n|---|---:|---:|---:|---|"
    );
    let _ = writeln!(
        out,
        "| nearest-10 statement p99 < {QUERY_P99_GOAL_MS} ms (shared function, warm connection) | {q99:.2} ms | `SELECT 1` {s99:.2} ms | {:.1}× | {} |",
        q99 / s99.max(0.001),
        met(q99 < QUERY_P99_GOAL_MS)
    );
    for (what, result, goal) in [
        ("nearest drivers", &nearest, NEAREST_P99_GOAL_MS),
        ("one-point report", &point, POINT_P99_GOAL_MS),
        ("50-point batch", &batch, BATCH_P99_GOAL_MS),
    ] {
        let ours = p99(result);
        let errors = result.total().error_rate();
        let _ = writeln!(
            out,
            "| {what} p99 ≤ {goal} ms at {rate:.0}/s offered | {ours:.2} ms ({:.2}% errors) | {base_p99:.2} ms | {:.1}× | {} |",
            errors * 100.0,
            ours / base_p99.max(0.001),
            met(ours <= goal && errors < 0.01)
        );
    }
    let gate_total = gate.total();
    let _ = writeln!(
        out,
        "| production gate: 30 drivers for 120 s, < 1% errors, < {GATE_CONNECTIONS} connections | {:.2}% errors, {peak_connections} connections at most | | | {} |\n",
        gate_total.error_rate() * 100.0,
        met(gate_total.error_rate() < GATE_ERROR_RATE && peak_connections < GATE_CONNECTIONS)
    );
    let _ = writeln!(out, "## The statement\n");
    let _ = writeln!(
        out,
        "{runs} calls of `shared::drivers::roster::nearest_available` (10 km, 10 drivers) at spots spread over the area: p50 {q50:.2} ms, p99 {q99:.2} ms, max {qmax:.2} ms; `SELECT 1` on the same connection: p50 {s50:.2} ms, p99 {s99:.2} ms.\n"
    );
    let _ = writeln!(out, "```\n{}\n```\n", plan.join("\n"));
    let _ = writeln!(out, "## Through the gateway\n");
    let mut rows = Vec::new();
    for result in [&nearest, &base, &point, &batch, &gate] {
        rows.extend(
            report::rows(&result.routes, result.elapsed.as_secs_f64())
                .into_iter()
                .take(1),
        );
    }
    let _ = writeln!(out, "{}", report::table(&rows));
    let _ = writeln!(
        out,
        "Each phase offers {rate:.0} requests a second for {} s after 5 s unmeasured at the same rate (the gate: 10 a second for 120 s); {} drivers and {} staff accounts send them, each inside its own budget.",
        duration.as_secs(),
        config.fleet_drivers,
        config.staff
    );
    Ok(out)
}
