//! A [`Problem`] solved by `vrp-core`: each shipment a pickup-and-delivery job, each
//! vehicle an actor with its working window, start and end; a goal of fewest unserved,
//! then fewest routes, then least drive time (or distance); the search stopped by a time
//! budget or a cancel flag, with the best solution reported as it improves.
//!
//! Shipments that no vehicle could serve even alone (too large, no vehicle of a type
//! that may carry it, or no vehicle that reaches both stops in time) are set aside with
//! that reason before the search: the reason is certain, and the search is spared them.
//! What the search itself leaves unserved could be served, but not beside the rest.
//!
//! - this module: the options, and the order of work: screen, state, search, read.
//! - [`screen`]: what no vehicle could serve alone, and why.
//! - [`model`]: the problem in the crate's terms (jobs, vehicles, goal, locks).
//! - [`search`]: the search within its budget, reporting its best as it goes.
//! - [`answer`]: the crate's solution read back as a [`Plan`].

mod answer;
mod model;
mod screen;
mod search;

use std::{
    sync::{atomic::AtomicBool, Arc},
    time::{Duration, Instant},
};

pub(crate) use answer::travelled;

use super::{Plan, Problem, RoutingError, Statistics, Unassigned};

/// The best solution so far, as the search reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub generation: usize,
    pub elapsed_seconds: f64,
    /// The best solution's cost (drive time or distance, per the objective).
    pub best_cost: f64,
    pub unassigned: usize,
    pub routes: usize,
}

/// A progress report, from the solver's thread.
pub type ProgressSink = Arc<dyn Fn(&Progress) + Send + Sync>;

/// How long and how to search.
#[derive(Clone)]
pub struct SolveOptions {
    pub time_limit: Duration,
    /// Stop after this many generations even with time left (reproducible runs).
    pub max_generations: Option<usize>,
    pub progress: Option<ProgressSink>,
    /// How often at most [`SolveOptions::progress`] hears of the search.
    pub progress_interval: Duration,
    /// Set to stop the search early; the best solution so far is the answer.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl SolveOptions {
    pub fn within(time_limit: Duration) -> Self {
        Self {
            time_limit,
            max_generations: None,
            progress: None,
            progress_interval: Duration::from_secs(1),
            cancel: None,
        }
    }
}

/// Solves `problem`. Blocking and CPU-bound: async callers run it on a blocking thread.
pub fn solve(problem: &Problem, options: &SolveOptions) -> Result<Plan, RoutingError> {
    problem.validate()?;
    let started = Instant::now();
    let mut unassigned = Vec::new();
    let mut servable = Vec::new();
    let locked: std::collections::HashSet<usize> = problem
        .locks
        .iter()
        .flat_map(|l| l.shipments.iter().copied())
        .collect();
    for (index, shipment) in problem.shipments.iter().enumerate() {
        // A locked shipment rides with its vehicle or not at all: the search decides.
        let verdict = match locked.contains(&index) {
            true => None,
            false => screen::alone_verdict(problem, shipment),
        };
        match verdict {
            Some(reason) => unassigned.push(Unassigned {
                shipment: index,
                reason,
            }),
            None => servable.push(index),
        }
    }
    if servable.is_empty() {
        return Ok(Plan {
            routes: Vec::new(),
            unassigned,
            statistics: Statistics {
                generations: 0,
                elapsed_seconds: started.elapsed().as_secs_f64(),
                cost: 0.0,
            },
        });
    }
    let search = model::vrp_problem(problem, &servable)
        .and_then(|vrp| search::run(vrp, options))
        .map_err(|e| RoutingError::Solver(e.to_string()))?;
    let mut plan = answer::read_solution(problem, &search.solution)?;
    unassigned.append(&mut plan.unassigned);
    unassigned.sort_by_key(|u| u.shipment);
    plan.unassigned = unassigned;
    plan.statistics = Statistics {
        generations: search.generations,
        elapsed_seconds: started.elapsed().as_secs_f64(),
        cost: search.solution.cost,
    };
    Ok(plan)
}
