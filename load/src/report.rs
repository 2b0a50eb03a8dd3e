//! What a finished run prints: one table per route (Markdown, so the benchmark report can
//! quote it as is) and the verdict against the thresholds.

use std::{collections::BTreeMap, fmt::Write as _};

use crate::{
    run::{self, RouteStats},
    traffic::Route,
    Outcome, Thresholds,
};

/// One row of a route table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub route: String,
    pub requests: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: u64,
    /// The error kinds and their counts ("503 ×4, timed out ×1").
    pub error_kinds: String,
}

impl Row {
    pub fn of(route: &str, stats: &RouteStats, seconds: f64) -> Self {
        Self {
            route: route.to_owned(),
            requests: stats.requests(),
            rps: stats.latency_us.len() as f64 / seconds.max(0.001),
            p50_ms: stats.percentile_ms(50.0),
            p95_ms: stats.percentile_ms(95.0),
            p99_ms: stats.percentile_ms(99.0),
            max_ms: stats.max_ms(),
            errors: stats.error_count(),
            error_kinds: stats
                .errors
                .iter()
                .map(|(kind, n)| format!("{kind} ×{n}"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

pub const TABLE_HEADER: &str = "| route | requests | ok/s | p50 ms | p95 ms | p99 ms | max ms | errors |\n|---|---:|---:|---:|---:|---:|---:|---|\n";

/// A Markdown table of `rows`.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(TABLE_HEADER);
    for row in rows {
        let errors = if row.errors == 0 {
            "0".to_owned()
        } else {
            format!("{} ({})", row.errors, row.error_kinds)
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            row.route,
            row.requests,
            row.rps,
            row.p50_ms,
            row.p95_ms,
            row.p99_ms,
            row.max_ms,
            errors
        );
    }
    out
}

/// The rows of `routes` measured over `seconds`, then one for all of them.
pub fn rows(routes: &BTreeMap<Route, RouteStats>, seconds: f64) -> Vec<Row> {
    let mut rows: Vec<Row> = routes
        .iter()
        .map(|(route, stats)| Row::of(route.key(), stats, seconds))
        .collect();
    let mut total = RouteStats::default();
    for stats in routes.values() {
        total.merge(stats);
    }
    rows.push(Row::of("all routes", &total, seconds));
    rows
}

/// One row of a benchmark's goals: the goal, what was measured, the baseline measured in
/// the same run and the ratio to it, and whether the goal was met (`None` on a row that
/// gives a figure to read the others by, not a goal). Cells without a figure are empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    pub goal: String,
    pub measured: String,
    pub baseline: String,
    pub ratio: String,
    pub met: Option<bool>,
}

/// The `## Goals` section of a benchmark report: a row per goal, missed ones in bold.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalsTable {
    pub rows: Vec<Goal>,
}

impl GoalsTable {
    pub fn render(&self) -> String {
        let mut out = String::from(
            "## Goals\n\n| goal | measured | baseline (same run) | ratio | |\n|---|---:|---:|---:|---|\n",
        );
        for row in &self.rows {
            let verdict = match row.met {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "",
            };
            let cells = [
                row.goal.as_str(),
                &row.measured,
                &row.baseline,
                &row.ratio,
                verdict,
            ];
            out.push('|');
            for cell in cells {
                // An empty cell is one space between its pipes, as in the header.
                if cell.is_empty() {
                    out.push_str(" |");
                } else {
                    let _ = write!(out, " {cell} |");
                }
            }
            out.push('\n');
        }
        out.push('\n');
        out
    }
}

/// Whether the run passed, and why not.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub breaches: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.breaches.is_empty()
    }
}

/// The run's verdict: every phase of a steady profile must meet the thresholds; a stress
/// run passes when any rate held (its point is the knee, not the breach that ended it).
pub fn verdict(outcome: &Outcome, thresholds: &Thresholds) -> Verdict {
    if outcome.plan.stop_at_breach {
        let breaches = match outcome.knee {
            Some(_) => Vec::new(),
            None => vec!["no rate of the ramp met the thresholds".to_owned()],
        };
        return Verdict { breaches };
    }
    let breaches = outcome
        .phases
        .iter()
        .enumerate()
        .flat_map(|(i, phase)| {
            thresholds
                .breaches(&phase.total())
                .into_iter()
                .map(move |b| format!("phase {} ({:.0}/s): {b}", i + 1, phase.phase.rate))
        })
        .collect();
    Verdict { breaches }
}

/// The whole printed report: the table per phase (when more than one), the run's table,
/// the knee of a stress run and the verdict.
pub fn render(outcome: &Outcome, thresholds: &Thresholds) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "profile {:?}, {} identities\n",
        outcome.plan.profile, outcome.plan.identities
    );
    if outcome.phases.len() > 1 {
        for (i, phase) in outcome.phases.iter().enumerate() {
            let total = Row::of("all routes", &phase.total(), phase.elapsed.as_secs_f64());
            let _ = writeln!(
                out,
                "phase {}: offered {:.0}/s for {} s: served {:.1}/s, p50 {:.2} ms, p99 {:.2} ms, errors {}",
                i + 1,
                phase.phase.rate,
                phase.phase.duration.as_secs(),
                phase.throughput(),
                total.p50_ms,
                total.p99_ms,
                total.errors
            );
        }
        out.push('\n');
    }
    let seconds: f64 = outcome.phases.iter().map(|p| p.elapsed.as_secs_f64()).sum();
    out.push_str(&table(&rows(&run::combine(&outcome.phases), seconds)));
    if outcome.plan.stop_at_breach {
        match outcome.knee {
            Some(rate) => {
                let _ = writeln!(
                    out,
                    "\nknee: {rate:.0} requests/s offered still met the thresholds"
                );
            }
            None => out.push_str("\nknee: none, the lowest rate already missed the thresholds\n"),
        }
    }
    let verdict = verdict(outcome, thresholds);
    let _ = writeln!(
        out,
        "\nthresholds: p95 < {:.0} ms, p99 < {:.0} ms, errors < {:.1}%: {}",
        thresholds.p95_ms,
        thresholds.p99_ms,
        thresholds.error_rate * 100.0,
        if verdict.passed() {
            "met".to_owned()
        } else {
            format!("MISSED ({})", verdict.breaches.join("; "))
        }
    );
    out
}

/// Fails with the first line where a rendered report departs from the expected one, and
/// the whole report, so a change of wording shows where it is.
#[cfg(test)]
pub(crate) fn assert_same_report(rendered: &str, expected: &str) {
    let departs = rendered
        .lines()
        .zip(expected.lines())
        .position(|(ours, theirs)| ours != theirs);
    if let Some(line) = departs {
        panic!(
            "line {} differs:\n  rendered: {}\n  expected: {}\n\n{rendered}",
            line + 1,
            rendered.lines().nth(line).unwrap_or_default(),
            expected.lines().nth(line).unwrap_or_default()
        );
    }
    assert_eq!(
        rendered, expected,
        "the same lines, not the same text:\n{rendered}"
    );
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{run::Phase, run::PhaseResult, Plan, Profile};

    fn stats(latencies_ms: &[u64], errors: &[(&str, u64)]) -> RouteStats {
        let mut stats = RouteStats::default();
        for ms in latencies_ms {
            stats.latency_us.record(ms * 1000).expect("record");
        }
        for (kind, n) in errors {
            stats.errors.insert((*kind).to_owned(), *n);
        }
        stats
    }

    fn outcome(
        profile: Profile,
        phases: Vec<BTreeMap<Route, RouteStats>>,
        knee: Option<f64>,
    ) -> Outcome {
        Outcome {
            plan: Plan::of(profile),
            phases: phases
                .into_iter()
                .map(|routes| PhaseResult {
                    phase: Phase {
                        rate: 10.0,
                        duration: Duration::from_secs(10),
                    },
                    routes,
                    elapsed: Duration::from_secs(10),
                })
                .collect(),
            knee,
        }
    }

    #[test]
    fn the_table_has_a_row_per_route_and_a_total() {
        let routes = BTreeMap::from([
            (Route::Health, stats(&[1, 2, 3], &[])),
            (Route::Orders, stats(&[4, 5], &[("503", 1)])),
        ]);
        let rows = rows(&routes, 1.0);
        assert_eq!(rows.len(), 3);
        let total = rows.last().expect("total row");
        assert_eq!((total.requests, total.errors), (6, 1));
        assert!((total.rps - 5.0).abs() < 1e-9, "{}", total.rps);
        let printed = table(&rows);
        assert!(printed.contains("| GET /api/orders | 3 |"), "{printed}");
        assert!(printed.contains("1 (503 ×1)"), "{printed}");
    }

    #[test]
    fn a_steady_run_fails_on_any_phase_that_breaks() {
        let fine = BTreeMap::from([(Route::Health, stats(&[1; 100], &[]))]);
        let slow = BTreeMap::from([(Route::Health, stats(&[2_000; 100], &[]))]);
        let thresholds = Thresholds::default();
        assert!(verdict(
            &outcome(Profile::Spike, vec![fine.clone()], None),
            &thresholds
        )
        .passed());
        let failed = verdict(
            &outcome(Profile::Spike, vec![fine, slow], None),
            &thresholds,
        );
        assert_eq!(failed.breaches.len(), 2, "{:?}", failed.breaches);
        assert!(
            failed.breaches[0].starts_with("phase 2"),
            "{:?}",
            failed.breaches
        );
        let printed = render(
            &outcome(
                Profile::Smoke,
                vec![BTreeMap::from([(
                    Route::Health,
                    stats(&[1], &[("timed out", 5)]),
                )])],
                None,
            ),
            &thresholds,
        );
        assert!(
            printed.contains("MISSED (phase 1 (10/s): errors 83.33% > 1.00%)"),
            "{printed}"
        );
    }

    #[test]
    fn a_stress_run_passes_when_some_rate_held() {
        let thresholds = Thresholds::default();
        let routes = BTreeMap::from([(Route::Health, stats(&[1], &[]))]);
        let held = outcome(Profile::Stress, vec![routes.clone()], Some(300.0));
        assert!(verdict(&held, &thresholds).passed());
        assert!(render(&held, &thresholds).contains("knee: 300 requests/s"));
        assert!(!verdict(&outcome(Profile::Stress, vec![routes], None), &thresholds).passed());
    }
}
