//! The routing benchmark (`docs/routing-performance.md`): the routing core on the
//! public Li & Lim pickup-and-delivery instances beside their best-known solutions, and
//! beside VROOM (pyvroom) given the same time budget in the same run; then a synthetic
//! 500-order day planned as the plan job plans one, with its peak memory.
//!
//! Every plan, ours and VROOM's, is scored from its routes alone (Euclidean distance in
//! double precision) and passed through the routing core's independent feasibility
//! check. `lilim` reads the instances, `day` makes and plans the day, `report` writes up.

pub mod day;
pub mod lilim;
mod report;
#[cfg(test)]
mod tests;

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde::Deserialize;
use shared::routing::{feasibility::violations, solve, Plan, Route, SolveOptions};

use crate::{bench::BenchReport, LoadError};
use day::DayResult;
use lilim::{BestKnown, Instance};
use report::Report;

#[derive(Debug, Clone)]
pub struct RoutingBenchConfig {
    pub instances: Vec<PathBuf>,
    pub best_known: PathBuf,
    /// Each instance's time budget, for the routing core and VROOM alike.
    pub budget: Duration,
    /// The Python with pyvroom, and the script that drives it; VROOM is left out (and the
    /// report says why) without them.
    pub vroom: Option<(PathBuf, PathBuf)>,
    pub day_orders: usize,
    pub day_drivers: usize,
    pub day_budget: Duration,
    pub command: String,
}

/// How one solver did on one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub vehicles: usize,
    pub distance: f64,
    pub unassigned: usize,
    pub seconds: f64,
    pub violations: Vec<String>,
}

impl Outcome {
    fn of(problem: &shared::routing::Problem, plan: &Plan, seconds: f64) -> Self {
        Self {
            vehicles: plan.routes.len(),
            distance: plan.distance(),
            unassigned: plan.unassigned.len(),
            seconds,
            violations: violations(problem, plan),
        }
    }

    /// Every task served by a plan that passed the check.
    pub fn feasible(&self) -> bool {
        self.unassigned == 0 && self.violations.is_empty()
    }

    /// Percent over the best-known distance, when like for like (the same vehicles).
    pub fn gap(&self, best: &BestKnown) -> Option<f64> {
        (self.feasible() && self.vehicles == best.vehicles)
            .then(|| (self.distance - best.distance) / best.distance * 100.0)
    }
}

#[derive(Debug, Clone)]
pub struct InstanceResult {
    pub name: String,
    pub tasks: usize,
    pub best: Option<BestKnown>,
    pub ours: Result<Outcome, String>,
    pub vroom: Result<Outcome, String>,
}

/// Runs the benchmark; progress goes to stderr. A part that fails is recorded and the
/// rest still runs: the report says first what is missing.
pub fn run(config: &RoutingBenchConfig) -> BenchReport {
    let mut failures = Vec::new();
    let best = lilim::best_known(&config.best_known).unwrap_or_else(|e| {
        failures.push(format!("the best-known table: {e}"));
        HashMap::new()
    });
    let mut instances = Vec::new();
    for path in &config.instances {
        match Instance::read(path) {
            Ok(instance) => instances.push(instance),
            Err(e) => failures.push(e.to_string()),
        }
    }
    let mut vroom = vroom_answers(config, &instances).unwrap_or_else(|e| {
        failures.push(format!("VROOM: {e}"));
        HashMap::new()
    });
    let mut results = Vec::new();
    for (i, instance) in instances.iter().enumerate() {
        let result = InstanceResult {
            name: instance.name.clone(),
            tasks: instance.tasks.len() - 1,
            best: best.get(&instance.name).copied(),
            ours: ours(instance, config.budget),
            vroom: vroom
                .remove(&instance.name)
                .unwrap_or_else(|| Err("no answer".to_owned()))
                .and_then(|answer| scored(instance, &answer)),
        };
        eprintln!(
            "[{}/{}] {}: ours {}; VROOM {}",
            i + 1,
            instances.len(),
            result.name,
            summary(&result.ours, result.best.as_ref()),
            summary(&result.vroom, result.best.as_ref()),
        );
        results.push(result);
    }
    let day = plan_day(config).map_err(|e| {
        failures.push(format!("the synthetic day: {e}"));
        e.to_string()
    });
    let report = Report {
        config,
        results: &results,
        day: &day,
        failures: &failures,
    };
    BenchReport {
        markdown: report.markdown(),
        complete: failures.is_empty(),
    }
}

fn summary(outcome: &Result<Outcome, String>, best: Option<&BestKnown>) -> String {
    match outcome {
        Ok(o) => format!(
            "{} vehicles, {:.2}{} in {:.1} s{}",
            o.vehicles,
            o.distance,
            best.and_then(|b| o.gap(b))
                .map(|g| format!(" ({g:+.2}%)"))
                .unwrap_or_default(),
            o.seconds,
            if o.feasible() { "" } else { ", NOT FEASIBLE" }
        ),
        Err(e) => format!("failed: {e}"),
    }
}

fn ours(instance: &Instance, budget: Duration) -> Result<Outcome, String> {
    let problem = instance.problem().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let plan = solve(&problem, &SolveOptions::within(budget)).map_err(|e| e.to_string())?;
    Ok(Outcome::of(
        &problem,
        &plan,
        started.elapsed().as_secs_f64(),
    ))
}

/// One line of the VROOM script's output.
#[derive(Debug, Clone, Deserialize)]
pub struct VroomAnswer {
    pub name: String,
    pub seconds: f64,
    pub routes: Vec<Vec<usize>>,
    pub unassigned: Vec<usize>,
}

/// VROOM's answers, by instance, from one run of its script over all the instances.
fn vroom_answers(
    config: &RoutingBenchConfig,
    instances: &[Instance],
) -> Result<HashMap<String, Result<VroomAnswer, String>>, LoadError> {
    let Some((python, script)) = &config.vroom else {
        return Err(LoadError::Setup(
            "not configured (no Python with pyvroom)".into(),
        ));
    };
    eprintln!("VROOM: solving {} instances", instances.len());
    let mut child = Command::new(python)
        .arg(script)
        .arg("--budget")
        .arg(config.budget.as_secs_f64().to_string())
        .args(&config.instances)
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| LoadError::Setup("VROOM's output is not readable".into()))?;
    let mut answers = HashMap::new();
    for line in BufReader::new(stdout).lines() {
        let answer: VroomAnswer = serde_json::from_str(&line?)
            .map_err(|e| LoadError::Setup(format!("an unreadable VROOM answer: {e}")))?;
        eprintln!("  VROOM {} in {:.2} s", answer.name, answer.seconds);
        answers.insert(answer.name.clone(), Ok(answer));
    }
    let status = child.wait()?;
    if !status.success() {
        return Err(LoadError::Setup(format!(
            "the VROOM script exited with {status}"
        )));
    }
    Ok(answers)
}

/// VROOM's routes as a plan of the same problem, scored and checked like ours.
fn scored(instance: &Instance, answer: &VroomAnswer) -> Result<Outcome, String> {
    let problem = instance.problem().map_err(|e| e.to_string())?;
    if answer.routes.len() > problem.vehicles.len() {
        return Err(format!(
            "{} routes for {} vehicles",
            answer.routes.len(),
            problem.vehicles.len()
        ));
    }
    let departure = problem.vehicles.first().map_or(0.0, |v| v.shift.start);
    let routes = answer
        .routes
        .iter()
        .enumerate()
        .map(|(vehicle, tasks)| {
            let visits = instance.visits(tasks).map_err(|e| e.to_string())?;
            Route::retimed(&problem, vehicle, departure, &visits)
                .ok_or_else(|| "an unknown stop".to_owned())
        })
        .collect::<Result<Vec<_>, String>>()?;
    let pickups: HashMap<usize, usize> = instance
        .pairs()
        .into_iter()
        .enumerate()
        .map(|(shipment, (pickup, _))| (pickup, shipment))
        .collect();
    let unassigned = answer
        .unassigned
        .iter()
        .filter_map(|task| pickups.get(task))
        .map(|&shipment| shared::routing::Unassigned {
            shipment,
            reason: shared::routing::UnassignedReason::Unknown,
        })
        .collect();
    let plan = Plan {
        routes,
        unassigned,
        statistics: shared::routing::Statistics {
            generations: 0,
            elapsed_seconds: answer.seconds,
            cost: 0.0,
        },
    };
    Ok(Outcome::of(&problem, &plan, answer.seconds))
}

/// The synthetic day, planned in a child process (`load routing-day`) so that the peak
/// memory it reports is the plan's alone.
fn plan_day(config: &RoutingBenchConfig) -> Result<DayResult, LoadError> {
    eprintln!(
        "The synthetic day: {} orders, {} drivers, {} s budget",
        config.day_orders,
        config.day_drivers,
        config.day_budget.as_secs_f64()
    );
    let output = Command::new(std::env::current_exe()?)
        .arg("routing-day")
        .arg("--orders")
        .arg(config.day_orders.to_string())
        .arg("--drivers")
        .arg(config.day_drivers.to_string())
        .arg("--day-budget")
        .arg(config.day_budget.as_secs_f64().to_string())
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(LoadError::Setup(format!(
            "load routing-day exited with {}",
            output.status
        )));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| LoadError::Setup(format!("an unreadable day result: {e}")))
}
