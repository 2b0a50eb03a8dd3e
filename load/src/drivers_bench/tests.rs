//! The report's wording on fixed measurements: `load/tests/reports/drivers-performance*.md`
//! is what `docs/drivers-performance.md` reads like, and a change to it is a change to
//! the report.

use std::{collections::BTreeMap, time::Duration};

use super::{
    dispatch::DispatchRun,
    gate::GateRun,
    gateway::{Carried, GatewayPhases},
    report::Report,
    statement::{Percentiles, StatementTiming},
    DatabaseSize, DriversBenchConfig,
};
use crate::{
    durability::Durability,
    report::assert_same_report,
    run::{Phase, PhaseResult, RouteStats},
    traffic::Route,
    LoadError,
};

/// Successful requests at `latencies_ms`, and failed ones by kind.
fn stats(latencies_ms: &[f64], errors: &[(&str, u64)]) -> RouteStats {
    let mut stats = RouteStats::default();
    for ms in latencies_ms {
        stats
            .latency_us
            .record((ms * 1000.0) as u64)
            .expect("record");
    }
    for (kind, n) in errors {
        stats.errors.insert((*kind).to_owned(), *n);
    }
    stats
}

/// `n` latencies evenly from `from_ms` to `to_ms`.
fn spread(from_ms: f64, to_ms: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| from_ms + (to_ms - from_ms) * i as f64 / (n - 1).max(1) as f64)
        .collect()
}

fn phase(rate: f64, seconds: u64, route: Route, stats: RouteStats) -> PhaseResult {
    PhaseResult {
        phase: Phase {
            rate,
            duration: Duration::from_secs(seconds),
        },
        routes: BTreeMap::from([(route, stats)]),
        elapsed: Duration::from_secs(seconds),
    }
}

fn config() -> DriversBenchConfig {
    DriversBenchConfig {
        api_url: "http://127.0.0.1:3000".into(),
        baseline_url: "http://127.0.0.1:3001".into(),
        database_url: "postgres://127.0.0.1/readyset".into(),
        seed_drivers: 100_000,
        seed_points: 10_000_000,
        fleet_drivers: 1000,
        staff: 150,
        rate: 200.0,
        duration: Duration::from_secs(30),
        warm_up: Duration::from_secs(5),
        gate_duration: Duration::from_secs(120),
        command: "scripts/bench-drivers (rate 200/s, 30 s, 100000 drivers, 10000000 points)".into(),
    }
}

/// Fixed measurements; the arguments decide which goals are met.
fn measured(
    gate_errors: u64,
    peak_connections: i64,
    statement_p99: f64,
    nearest_ms: f64,
) -> (StatementTiming, GatewayPhases, GateRun) {
    let statement = StatementTiming {
        runs: 2000,
        plan: vec![
            "Limit  (cost=0.41..12.80 rows=10 width=64) (actual time=0.210..0.391 rows=10 loops=1)"
                .into(),
            "  Buffers: shared hit=57".into(),
            "Planning Time: 0.150 ms".into(),
        ],
        nearest: Percentiles {
            p50: 0.41,
            p99: statement_p99,
            max: 3.75,
        },
        select_one: Percentiles {
            p50: 0.06,
            p99: 0.125,
            max: 0.5,
        },
    };
    let gateway = GatewayPhases {
        nearest: phase(
            200.0,
            30,
            Route::NearestDrivers,
            stats(&spread(2.0, nearest_ms, 6000), &[]),
        ),
        baseline: phase(
            200.0,
            30,
            Route::Baseline,
            stats(&spread(1.0, 2.5, 6000), &[]),
        ),
        point: phase(
            200.0,
            30,
            Route::LocationPoint,
            stats(&spread(3.0, 14.0, 5990), &[("429", 10)]),
        ),
        batch: phase(
            200.0,
            30,
            Route::LocationBatch,
            stats(&spread(6.0, 41.0, 6000), &[("timed out", 1)]),
        ),
        carried: Carried {
            deliveries: 1000,
            timed: 1000,
            late: 412,
        },
    };
    let gate = GateRun {
        result: phase(
            10.0,
            120,
            Route::LocationPoint,
            stats(&spread(3.0, 9.0, 1200), &[("503", gate_errors)]),
        ),
        peak_connections,
    };
    (statement, gateway, gate)
}

/// A fixed auto-dispatch run: ranking at `ranking_p99` ms, creates up to `create_ms`.
fn dispatched(ranking_p99: f64, create_ms: f64) -> DispatchRun {
    DispatchRun {
        rankings: 500,
        ranking: Percentiles {
            p50: 4.5,
            p99: ranking_p99,
            max: ranking_p99 + 40.0,
        },
        select_one: Percentiles {
            p50: 0.06,
            p99: 0.125,
            max: 0.5,
        },
        candidates: 7.4,
        create: phase(
            50.0,
            30,
            Route::OnDemandOffered,
            stats(&spread(12.0, create_ms, 1500), &[]),
        ),
        baseline: phase(
            50.0,
            30,
            Route::Baseline,
            stats(&spread(1.0, 2.5, 1500), &[]),
        ),
        orders: 1750,
        offered: 1712,
        first_offer: Some(Percentiles {
            p50: 9.0,
            p99: create_ms - 20.0,
            max: create_ms + 30.0,
        }),
        next_offer: Some(Percentiles {
            p50: 640.0,
            p99: 1480.0,
            max: 2210.0,
        }),
        lapsed: 1690,
    }
}

/// The report on fixed measurements; the arguments decide which goals are met.
fn report(gate_errors: u64, peak_connections: i64, statement_p99: f64, nearest_ms: f64) -> String {
    let (statement, gateway, gate) =
        measured(gate_errors, peak_connections, statement_p99, nearest_ms);
    let dispatch = match gate_errors {
        0 => dispatched(21.0, 180.0),
        _ => dispatched(75.0, 320.0),
    };
    render(Ok(statement), Ok(gateway), Ok(dispatch), Ok(gate))
}

fn render(
    statement: Result<StatementTiming, LoadError>,
    gateway: Result<GatewayPhases, LoadError>,
    dispatch: Result<DispatchRun, LoadError>,
    gate: Result<GateRun, LoadError>,
) -> String {
    Report {
        config: &config(),
        database: DatabaseSize {
            drivers: 100_000,
            on_duty: 10_012,
            points: 9_999_840,
        },
        durability: Durability {
            fsync: "on".into(),
            synchronous_commit: "on".into(),
            full_page_writes: "on".into(),
        },
        statement,
        gateway,
        dispatch,
        gate,
    }
    .render()
}

#[test]
fn the_report_reads_as_before() {
    assert_same_report(
        &report(0, 7, 1.25, 17.0),
        include_str!("../../tests/reports/drivers-performance.md"),
    );
}

#[test]
fn goals_that_are_missed_stand_out() {
    assert_same_report(
        &report(30, 18, 2.5, 25.0),
        include_str!("../../tests/reports/drivers-performance-goals-missed.md"),
    );
}

#[test]
fn a_failed_step_is_named_first_and_the_others_still_reported() {
    let (statement, gateway, _) = measured(0, 7, 1.25, 17.0);
    let failure = LoadError::Setup("creating the gate's drivers failed: 503".into());
    let text = render(
        Ok(statement),
        Ok(gateway),
        Ok(dispatched(21.0, 180.0)),
        Err(failure),
    );
    let incomplete = text
        .find("## Incomplete run")
        .expect("an incomplete-run section");
    let goals = text.find("## Goals").expect("the goals");
    assert!(incomplete < goals, "the failure comes before the goals");
    assert!(text.contains("- the production gate: "), "{text}");
    assert!(text.contains("creating the gate's drivers failed: 503"));
    assert!(
        !text.contains("production gate: 30 drivers"),
        "no gate goal row"
    );
    assert!(
        text.contains("nearest drivers p99"),
        "the gateway goals stay"
    );
    assert!(text.contains("## The statement"), "the statement stays");

    let complete = report(0, 7, 1.25, 17.0);
    assert!(!complete.contains("## Incomplete run"));
}
