//! The drivers report's Markdown, in the order `docs/drivers-performance.md` gives it:
//! what was measured on what, the goals, the statement and the gateway.

use super::{
    dispatch::DispatchRun,
    gate::{GateRun, GATE_DRIVERS, GATE_RATE},
    gateway::GatewayPhases,
    statement::StatementTiming,
    DatabaseSize, DriversBenchConfig,
};
use std::fmt::Write;

use crate::{
    durability::Durability,
    report::{self, Goal, GoalsTable},
    run::PhaseResult,
    LoadError,
};

/// The goals of the issue, on this machine kind with everything local.
const QUERY_P99_GOAL_MS: f64 = 2.0;
const NEAREST_P99_GOAL_MS: f64 = 20.0;
const POINT_P99_GOAL_MS: f64 = 20.0;
const BATCH_P99_GOAL_MS: f64 = 40.0;
/// Every goal through the gateway, the gate's included, allows fewer errors than this.
const MAX_ERROR_RATE: f64 = 0.01;
const GATE_CONNECTIONS: i64 = 18;
const RANKING_P99_GOAL_MS: f64 = 50.0;
const FIRST_OFFER_P99_GOAL_MS: f64 = 250.0;

/// Everything the benchmark measured, and how it was configured. A step that failed
/// holds its error: the report leaves its figures out and says so first.
pub(super) struct Report<'a> {
    pub config: &'a DriversBenchConfig,
    pub database: DatabaseSize,
    pub durability: Durability,
    pub statement: Result<StatementTiming, LoadError>,
    pub gateway: Result<GatewayPhases, LoadError>,
    pub dispatch: Result<DispatchRun, LoadError>,
    pub gate: Result<GateRun, LoadError>,
}

fn p99(result: &PhaseResult) -> f64 {
    result.total().percentile_ms(99.0)
}

impl Report<'_> {
    /// The report's Markdown, section after section.
    pub fn render(&self) -> String {
        [
            self.heading(),
            self.failures_section(),
            GoalsTable { rows: self.goals() }.render(),
            self.statement_section(),
            self.gateway_section(),
            self.dispatch_section(),
        ]
        .concat()
    }

    /// Whether every step measured.
    pub fn complete(&self) -> bool {
        self.failures_text().is_empty()
    }

    pub fn failures_text(&self) -> Vec<String> {
        [
            ("the statement", self.statement.as_ref().err()),
            ("through the gateway", self.gateway.as_ref().err()),
            ("auto-dispatch", self.dispatch.as_ref().err()),
            ("the production gate", self.gate.as_ref().err()),
        ]
        .into_iter()
        .filter_map(|(step, error)| error.map(|e| format!("{step}: {e}")))
        .collect()
    }

    /// `## Incomplete run`, first, when a step failed; nothing otherwise.
    fn failures_section(&self) -> String {
        let failures = self.failures_text();
        if failures.is_empty() {
            return String::new();
        }
        let mut out = String::from(
            "## Incomplete run\n\nThese steps failed; their figures are missing below.\n\n",
        );
        for failure in failures {
            let _ = writeln!(out, "- {failure}");
        }
        out.push('\n');
        out
    }

    /// The title, what the figures were measured on, and how to read them.
    fn heading(&self) -> String {
        let DatabaseSize {
            drivers,
            on_duty,
            points,
        } = self.database;
        format!(
            "# Drivers and tracking: performance\n\n\
             Measured by `{}` on {drivers} drivers ({on_duty} on shift) and {points} recorded points, \
             everything on 127.0.0.1. Open loop: a fixed arrival rate, latency from the intended \
             send time. The machine is shared and noisy: read the ratios to the baseline measured \
             in the same run, not the milliseconds alone. {}\n\n",
            self.config.command,
            self.durability.sentence()
        )
    }

    /// The statement's goal, one per route through the gateway, and the gate's.
    fn goals(&self) -> Vec<Goal> {
        let mut goals: Vec<Goal> = self.statement.iter().map(statement_goal).collect();
        if let Ok(gateway) = &self.gateway {
            for (what, result, goal_ms) in [
                ("nearest drivers", &gateway.nearest, NEAREST_P99_GOAL_MS),
                ("one-point report", &gateway.point, POINT_P99_GOAL_MS),
                ("50-point batch", &gateway.batch, BATCH_P99_GOAL_MS),
            ] {
                goals.push(self.route_goal(what, &gateway.baseline, result, goal_ms));
            }
        }
        if let Ok(dispatch) = &self.dispatch {
            goals.push(Goal {
                goal: format!(
                    "candidate ranking p99 ≤ {RANKING_P99_GOAL_MS} ms (shared function, warm connection)"
                ),
                measured: format!("{:.2} ms", dispatch.ranking.p99),
                baseline: format!("`SELECT 1` {:.2} ms", dispatch.select_one.p99),
                ratio: format!(
                    "{:.1}×",
                    dispatch.ranking.p99 / dispatch.select_one.p99.max(0.001)
                ),
                met: Some(dispatch.ranking.p99 <= RANKING_P99_GOAL_MS),
            });
            let rate = (self.config.rate / 4.0).max(1.0);
            let base = p99(&dispatch.baseline);
            let errors = dispatch.create.total().error_rate();
            let ours = dispatch.first_offer.map_or(f64::INFINITY, |p| p.p99);
            goals.push(Goal {
                goal: format!(
                    "order created → first offer p99 ≤ {FIRST_OFFER_P99_GOAL_MS} ms at {rate:.0}/s offered"
                ),
                measured: format!(
                    "{ours:.2} ms ({:.2}% of creates failed)",
                    errors * 100.0
                ),
                baseline: format!("{base:.2} ms"),
                ratio: format!("{:.1}×", ours / base.max(0.001)),
                met: Some(ours <= FIRST_OFFER_P99_GOAL_MS && errors < MAX_ERROR_RATE),
            });
        }
        goals.extend(self.gate.iter().map(|gate| self.gate_goal(gate)));
        goals
    }

    /// `## Auto-dispatch`: ranking, the create phase, and expiry to the next offer.
    fn dispatch_section(&self) -> String {
        let Ok(d) = &self.dispatch else {
            return String::new();
        };
        let rows: Vec<report::Row> = [&d.create, &d.baseline]
            .into_iter()
            .flat_map(|result| {
                report::rows(&result.routes, result.elapsed.as_secs_f64())
                    .into_iter()
                    .take(1)
            })
            .collect();
        let first = match &d.first_offer {
            Some(p) => format!(
                "From each order's creation to its first offer (the rows' times): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms.",
                p.p50, p.p99, p.max
            ),
            None => "No order was offered: the time to a first offer was not measured.".to_owned(),
        };
        let next = match &d.next_offer {
            Some(p) => format!(
                "{} offers lapsed unanswered; from each deadline to its order's next offer: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (the queue's delayed message, received by the local gateway's poller as the event source mapping would, then the expiry and the next ranking).",
                d.lapsed, p.p50, p.p99, p.max
            ),
            None => "No offer lapsed within the wait: the expiry-to-next-offer delay was not measured.".to_owned(),
        };
        format!(
            "\n## Auto-dispatch\n\n\
             {} rankings of `shared::autodispatch::candidates::rank` at spots spread over the area (the nearest 10 available drivers, their loads and pending offers, each insertion checked): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {:.1} candidates each on average; `SELECT 1` on the same connection: p50 {:.2} ms, p99 {:.2} ms.\n\n\
             {}\n\
             Staff placed on-demand orders with auto-dispatch on; each create answers once its order is offered to a driver (or escalated) and its expiry queued: {} orders, {} of them offered. {first}\n\n\
             {next}\n",
            d.rankings,
            d.ranking.p50,
            d.ranking.p99,
            d.ranking.max,
            d.candidates,
            d.select_one.p50,
            d.select_one.p99,
            report::table(&rows),
            d.orders,
            d.offered,
        )
    }

    /// A route's p99 and errors through the gateway against the baseline's p99.
    fn route_goal(
        &self,
        what: &str,
        baseline: &PhaseResult,
        result: &PhaseResult,
        goal_ms: f64,
    ) -> Goal {
        let rate = self.config.rate;
        let base_p99 = p99(baseline);
        let ours = p99(result);
        let errors = result.total().error_rate();
        Goal {
            goal: format!("{what} p99 ≤ {goal_ms} ms at {rate:.0}/s offered"),
            measured: format!("{ours:.2} ms ({:.2}% errors)", errors * 100.0),
            baseline: format!("{base_p99:.2} ms"),
            ratio: format!("{:.1}×", ours / base_p99.max(0.001)),
            met: Some(ours <= goal_ms && errors < MAX_ERROR_RATE),
        }
    }

    /// The gate's errors and the API's connections at most.
    fn gate_goal(&self, gate: &GateRun) -> Goal {
        let errors = gate.result.total().error_rate();
        let peak = gate.peak_connections;
        Goal {
            goal: format!(
                "production gate: {GATE_DRIVERS} drivers for {} s, < {:.0}% errors, < {GATE_CONNECTIONS} connections",
                self.config.gate_duration.as_secs(),
                MAX_ERROR_RATE * 100.0
            ),
            measured: format!("{:.2}% errors, {peak} connections at most", errors * 100.0),
            baseline: String::new(),
            ratio: String::new(),
            met: Some(errors < MAX_ERROR_RATE && peak < GATE_CONNECTIONS),
        }
    }

    /// `## The statement`: its percentiles beside `SELECT 1`'s, then its plan.
    fn statement_section(&self) -> String {
        let Ok(StatementTiming {
            runs,
            plan,
            nearest,
            select_one,
        }) = &self.statement
        else {
            return String::new();
        };
        format!(
            "## The statement\n\n\
             {runs} calls of `shared::drivers::roster::nearest_available` (10 km, 10 drivers) at spots spread over the area: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; `SELECT 1` on the same connection: p50 {:.2} ms, p99 {:.2} ms.\n\n\
             ```\n{}\n```\n\n",
            nearest.p50,
            nearest.p99,
            nearest.max,
            select_one.p50,
            select_one.p99,
            plan.join("\n")
        )
    }

    /// `## Through the gateway`: a row per phase, the gate's last, and how they were sent.
    fn gateway_section(&self) -> String {
        let phases = self.gateway.iter().flat_map(|gateway| {
            [
                &gateway.nearest,
                &gateway.baseline,
                &gateway.point,
                &gateway.batch,
            ]
        });
        let gate = self.gate.iter().map(|gate| &gate.result);
        let rows: Vec<report::Row> = phases
            .chain(gate)
            .flat_map(|result| {
                report::rows(&result.routes, result.elapsed.as_secs_f64())
                    .into_iter()
                    .take(1)
            })
            .collect();
        if rows.is_empty() {
            return String::new();
        }
        let config = self.config;
        let carried = self.gateway.as_ref().map_or(String::new(), |gateway| {
            let c = &gateway.carried;
            format!(
                " Every driver of the fleet carries an on-demand order it has picked up, so each report times that delivery's drop (its ETA), checks it for a delay and the driver for arrival: {} of the {} deliveries were re-timed while the reports ran, and {} were predicted late (a delay recorded once, with its notices).",
                c.timed, c.deliveries, c.late
            )
        });
        format!(
            "## Through the gateway\n\n{}\n\
             Each phase offers {:.0} requests a second for {} s after {} s unmeasured at the same rate (the gate: {GATE_RATE:.0} a second for {} s); {} drivers and {} staff accounts send them, each inside its own budget.{carried}\n",
            report::table(&rows),
            config.rate,
            config.duration.as_secs(),
            config.warm_up.as_secs(),
            config.gate_duration.as_secs(),
            config.fleet_drivers,
            config.staff
        )
    }
}

/// The statement's p99 against `SELECT 1` on the same connection.
fn statement_goal(statement: &StatementTiming) -> Goal {
    let (nearest, select_one) = (statement.nearest, statement.select_one);
    Goal {
        goal: format!(
            "nearest-10 statement p99 < {QUERY_P99_GOAL_MS} ms (shared function, warm connection)"
        ),
        measured: format!("{:.2} ms", nearest.p99),
        baseline: format!("`SELECT 1` {:.2} ms", select_one.p99),
        ratio: format!("{:.1}×", nearest.p99 / select_one.p99.max(0.001)),
        met: Some(nearest.p99 < QUERY_P99_GOAL_MS),
    }
}
