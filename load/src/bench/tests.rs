//! The report's wording on fixed measurements: `load/tests/reports/performance*.md` is
//! what `docs/performance.md` reads like, and a change to it is a change to the report.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use super::{
    measure::{ApiAndBaseline, ColdStarts, Measured, RampRun, Yardsticks},
    provenance::Provenance,
    report::Report,
    BenchConfig, Ramp,
};
use crate::{
    cold_start::ColdStart,
    durability::Durability,
    emulator::EmulatorResult,
    report::assert_same_report,
    run::{Phase, PhaseResult, RouteStats},
    traffic::{PartnerKey, Route},
    Outcome, Plan, Profile,
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

fn phase(rate: f64, seconds: u64, routes: Vec<(Route, RouteStats)>) -> PhaseResult {
    PhaseResult {
        phase: Phase {
            rate,
            duration: Duration::from_secs(seconds),
        },
        routes: routes.into_iter().collect::<BTreeMap<_, _>>(),
        elapsed: Duration::from_secs(seconds),
    }
}

fn outcome(plan: Plan, phases: Vec<PhaseResult>, knee: Option<f64>) -> Outcome {
    Outcome { plan, phases, knee }
}

fn cold_start(init_ms: f64, first_invoke_ms: f64) -> ColdStart {
    ColdStart {
        init: Duration::from_secs_f64(init_ms / 1000.0),
        first_invoke: Duration::from_secs_f64(first_invoke_ms / 1000.0),
        answered_with_error: false,
        warm_up: None,
    }
}

fn config() -> BenchConfig {
    BenchConfig {
        api_url: "http://127.0.0.1:3000".into(),
        baseline_url: "http://127.0.0.1:3001".into(),
        dynamodb_endpoint: "http://127.0.0.1:8000".into(),
        database_url: "postgres://127.0.0.1/readyset".into(),
        partner: PartnerKey {
            slug: "catervalley".into(),
            key: "ready-set".into(),
        },
        rate: 200.0,
        duration: Duration::from_secs(60),
        identities: 1000,
        api_ramp: Ramp {
            step: 100.0,
            peak: 300.0,
            seconds: 5,
        },
        baseline_ramp: Ramp {
            step: 250.0,
            peak: 750.0,
            seconds: 5,
        },
        emulator_duration: Duration::from_secs(5),
        lambda_binary: PathBuf::from("/nonexistent/readyset-lambda"),
        hello_binary: PathBuf::from("/nonexistent/hello-lambda"),
        events: PathBuf::from("events"),
        cold_start_runs: 5,
        command: "scripts/bench (rate 200/s, 60 s)".into(),
    }
}

fn provenance() -> Provenance {
    Provenance {
        measured_at: "2026-12-02 02:23 UTC".into(),
        machine: "2 cores (Test CPU), 4.0 GB memory, Linux 6.0-test".into(),
        commit: "abc1234".into(),
        durability: Some(Durability {
            fsync: "on".into(),
            synchronous_commit: "on".into(),
            full_page_writes: "on".into(),
        }),
    }
}

fn emulator_run(
    writers: usize,
    writes: u64,
    counter_exact: bool,
    race: (u64, u64),
) -> EmulatorResult {
    EmulatorResult {
        writers,
        seconds: 5.0,
        writes,
        counter_exact,
        race_limit: 100,
        race_succeeded: race.0,
        race_attempts: race.1,
    }
}

/// Some goals met and some missed; one emulator run lost a write, another passed the limit.
fn measured() -> Measured {
    Measured {
        failures: Vec::new(),
        emulator: vec![
            emulator_run(1, 9_300, true, (100, 200)),
            emulator_run(8, 17_070, false, (100, 200)),
            emulator_run(32, 17_770, true, (101, 224)),
        ],
        mixed: mixed_traffic(),
        ramps: ramps(),
        yardsticks: Yardsticks {
            argon2_ms: 22.03,
            connect_ms: 4.5,
            connect_postgis_ms: 31.25,
        },
        cold_starts: ColdStarts {
            hello: cold_start(1.1, 0.25),
            functions: vec![
                ("auth-login".into(), Ok(cold_start(12.0, 31.0))),
                ("health".into(), Ok(cold_start(8.5, 1.25))),
                (
                    "health-database".into(),
                    Ok(ColdStart {
                        warm_up: Some(crate::cold_start::WarmUp {
                            sdk_ms: 1.5,
                            clients_ms: 2.25,
                            dynamodb_ms: Some(4.5),
                            signing_key_ms: None,
                            database_ms: 3.0,
                            total_ms: 4.5,
                        }),
                        ..cold_start(9.0, 37.75)
                    }),
                ),
            ],
            api_functions: ["auth-login", "health", "health-database"]
                .map(String::from)
                .into(),
            lambda_binary_mb: 0.0,
            hello_binary_mb: 0.0,
        },
    }
}

/// A minute at 200/s: reads over their goal on `GET /api/orders`, errors on two routes.
fn mixed_traffic() -> ApiAndBaseline<Outcome> {
    let steady = Plan::of(Profile::Load).steady(200.0, Duration::from_secs(60));
    let api = outcome(
        steady.clone().labelled("api"),
        vec![phase(
            200.0,
            60,
            vec![
                (Route::UserOrders, stats(&spread(2.0, 11.0, 420), &[])),
                (Route::Orders, stats(&spread(2.5, 12.5, 180), &[("503", 2)])),
                (Route::Health, stats(&spread(1.0, 6.0, 60), &[])),
                (
                    Route::CreateOrder,
                    stats(&spread(5.0, 17.0, 180), &[("timed out", 1), ("500", 3)]),
                ),
                (Route::Pricing, stats(&spread(3.0, 10.0, 144), &[])),
                (Route::Login, stats(&spread(30.0, 47.0, 24), &[])),
            ],
        )],
        None,
    );
    let baseline = outcome(
        steady.only(Route::Baseline).labelled("baseline"),
        vec![phase(
            200.0,
            60,
            vec![(Route::Baseline, stats(&spread(1.5, 2.7, 1200), &[]))],
        )],
        None,
    );
    ApiAndBaseline { api, baseline }
}

/// The API's ramp breaks at its third step, the baseline's holds to the end; more
/// processes than the CPU table shows.
fn ramps() -> ApiAndBaseline<RampRun> {
    let user_orders =
        |from, to, n, errors| vec![(Route::UserOrders, stats(&spread(from, to, n), errors))];
    let api = outcome(
        Plan::of(Profile::Stress).ramp(Route::UserOrders, 100.0, 300.0, 5),
        vec![
            phase(100.0, 5, user_orders(3.0, 9.0, 500, &[])),
            phase(200.0, 5, user_orders(3.0, 12.0, 990, &[])),
            phase(
                300.0,
                5,
                user_orders(300.0, 1500.0, 1200, &[("client overloaded", 40)]),
            ),
        ],
        Some(200.0),
    );
    let baseline = |to, n| vec![(Route::Baseline, stats(&spread(1.0, to, n), &[]))];
    let baseline = outcome(
        Plan::of(Profile::Stress).ramp(Route::Baseline, 250.0, 750.0, 5),
        vec![
            phase(250.0, 5, baseline(3.0, 1250)),
            phase(500.0, 5, baseline(4.0, 2500)),
            phase(750.0, 5, baseline(5.0, 3740)),
        ],
        Some(750.0),
    );
    let cpu = |used: &[(&str, f64)]| -> Vec<(String, f64)> {
        used.iter()
            .map(|(name, s)| ((*name).to_owned(), *s))
            .collect()
    };
    ApiAndBaseline {
        api: RampRun {
            outcome: api,
            cpu: cpu(&[
                ("local-gateway", 7.5),
                ("postgres", 3.25),
                ("node", 1.5),
                ("load", 1.25),
                ("python3", 0.5),
                ("systemd", 0.25),
                ("sshd", 0.125),
            ]),
        },
        baseline: RampRun {
            outcome: baseline,
            cpu: cpu(&[("postgres", 6.25), ("load", 3.5), ("baseline", 1.0)]),
        },
    }
}

#[test]
fn the_report_reads_as_before() {
    let rendered = Report::new(&config(), &measured(), provenance()).render();
    assert_same_report(
        &rendered,
        include_str!("../../tests/reports/performance.md"),
    );
}

#[test]
fn goals_that_are_met_say_so() {
    let mut m = measured();
    for run in &mut m.emulator {
        run.counter_exact = true;
        run.race_succeeded = 100;
    }
    let api = &mut m.mixed.api.phases[0].routes;
    api.insert(Route::Orders, stats(&spread(2.5, 9.5, 180), &[]));
    api.insert(Route::UserOrders, stats(&spread(2.0, 9.0, 420), &[]));
    m.ramps.api.outcome.phases[2] = phase(
        1000.0,
        5,
        vec![(Route::UserOrders, stats(&spread(2.0, 9.0, 5000), &[]))],
    );
    m.cold_starts.hello = cold_start(6.0, 0.25);
    m.cold_starts.functions = vec![("health".into(), Ok(cold_start(8.5, 1.25)))];
    let rendered = Report::new(&config(), &m, provenance()).render();
    let from_goals = rendered
        .split_once("## Goals")
        .map_or("", |(_, goals)| goals);
    assert_same_report(
        &format!("## Goals{from_goals}"),
        include_str!("../../tests/reports/performance-goals-met.md"),
    );
}

/// A run whose steps failed still reports what it measured, saying first what it could
/// not; a job that refused its sample event is a cold start all the same.
#[test]
fn an_incomplete_run_reports_what_it_measured_and_what_failed() {
    let mut measured = measured();
    measured.failures = vec![
        "the cold start of backup: exited (exit status: 1) before answering its first event".into(),
    ];
    measured.cold_starts.functions.push((
        "backup-restore".into(),
        Ok(ColdStart {
            answered_with_error: true,
            ..cold_start(30.0, 2.0)
        }),
    ));
    measured.cold_starts.functions.push((
        "backup".into(),
        Err("exited (exit status: 1) before answering its first event".into()),
    ));
    let report = Report::new(&config(), &measured, provenance()).render();
    let incomplete = report
        .find("## Incomplete run")
        .expect("the failures come first");
    assert!(
        incomplete < report.find("## Goals").expect("the goals"),
        "{report}"
    );
    assert!(
        report.contains("- the cold start of backup: exited"),
        "{report}"
    );
    assert!(
        report.contains(
            "| backup-restore (answered its sample event with an error) | 30.0 | – | – | – | 2.0 |"
        ),
        "{report}"
    );
    assert!(
        report.contains("| backup (not measured: exited (exit status: 1) before answering its first event) | – |"),
        "{report}"
    );
    assert!(
        report.contains("## Mixed traffic"),
        "the other sections stay: {report}"
    );
}

#[test]
fn a_new_report_keeps_the_packaging_section_of_the_old_one() {
    let dir = std::env::temp_dir().join(format!("bench-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let path = dir.join("performance.md");
    let section = "<!-- package -->\n## The deployable artifact\n\n| a | b |\n<!-- /package -->";
    std::fs::write(
        &path,
        format!("# Performance\n\nold figures\n\n{section}\n"),
    )
    .expect("written");
    let kept = super::with_package_section("# Performance\n\nnew figures\n", &path);
    assert_eq!(kept, format!("# Performance\n\nnew figures\n\n{section}\n"));

    std::fs::write(&path, "# Performance\n\nno packaging yet\n").expect("written");
    let alone = super::with_package_section("# Performance\n\nnew figures\n", &path);
    assert_eq!(alone, "# Performance\n\nnew figures\n");
    let _ = std::fs::remove_dir_all(&dir);
}
