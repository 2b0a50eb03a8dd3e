//! The search: the crate's default configuration, stopped by the time budget (to the
//! millisecond) or a cancel flag, its best solution reported to a sink as it improves.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use vrp_core::{
    prelude::*,
    rosomaxa::{
        evolution::TelemetryMode,
        get_default_population, get_default_selection_size,
        population::{HeuristicPopulation, SelectionPhase},
        prelude::HeuristicStatistics,
        utils::{Parallelism, Quota},
    },
    solver::{RefinementContext, TargetPopulation},
};

use super::{Progress, ProgressSink, SolveOptions};

pub(super) struct Search {
    pub(super) solution: Solution,
    pub(super) generations: usize,
}

/// Searches `vrp` within the options' budget.
pub(super) fn run(
    vrp: Arc<vrp_core::models::Problem>,
    options: &SolveOptions,
) -> GenericResult<Search> {
    let quota = Arc::new(Budget {
        deadline: Instant::now() + options.time_limit,
        cancel: options.cancel.clone(),
    });
    let environment = Arc::new(Environment::new(
        Arc::new(DefaultRandom::default()),
        Some(quota),
        Parallelism::default(),
        Arc::new(|message: &str| tracing::debug!(message, "routing search")),
        false,
    ));
    let generations = Arc::new(Mutex::new(0usize));
    let population: TargetPopulation = Box::new(Reporting {
        inner: get_default_population(
            vrp.goal.clone(),
            environment.clone(),
            get_default_selection_size(environment.as_ref()),
        ),
        sink: options.progress.clone(),
        interval: options.progress_interval,
        last: None,
        generations: generations.clone(),
    });
    let context = RefinementContext::new(
        vrp.clone(),
        population,
        TelemetryMode::None,
        environment.clone(),
    );
    // The budget above stops the search to the millisecond; the crate's own limit (whole
    // seconds) is a backstop, and without any it would stop at 3,000 generations.
    let backstop = usize::try_from(options.time_limit.as_secs())
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    let config = VrpConfigBuilder::new(vrp.clone())
        .set_environment(environment)
        .set_telemetry_mode(TelemetryMode::None)
        .prebuild()?
        .with_context(context)
        .with_max_time(Some(backstop))
        .with_max_generations(options.max_generations)
        .build()?;
    let solution = Solver::new(vrp, config).solve()?;
    let generations = *generations.lock().map_err(|_| "progress lock poisoned")?;
    Ok(Search {
        solution,
        generations,
    })
}

/// Stops the search at the deadline or when cancelled.
struct Budget {
    deadline: Instant,
    cancel: Option<Arc<AtomicBool>>,
}

impl Quota for Budget {
    fn is_reached(&self) -> bool {
        Instant::now() >= self.deadline
            || self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// The crate's default population, telling a sink of its best solution as generations
/// pass (at most once per interval) and counting them.
struct Reporting {
    inner: TargetPopulation,
    sink: Option<ProgressSink>,
    interval: Duration,
    last: Option<Instant>,
    generations: Arc<Mutex<usize>>,
}

impl HeuristicPopulation for Reporting {
    type Objective = GoalContext;
    type Individual = InsertionContext;

    fn add_all(&mut self, individuals: Vec<Self::Individual>) -> bool {
        self.inner.add_all(individuals)
    }

    fn add(&mut self, individual: Self::Individual) -> bool {
        self.inner.add(individual)
    }

    fn on_generation(&mut self, statistics: &HeuristicStatistics) {
        self.inner.on_generation(statistics);
        if let Ok(mut count) = self.generations.lock() {
            *count = statistics.generation;
        }
        let Some(sink) = &self.sink else {
            return;
        };
        if self.last.is_some_and(|at| at.elapsed() < self.interval) {
            return;
        }
        if let Some(best) = self.inner.ranked().next() {
            self.last = Some(Instant::now());
            sink(&Progress {
                generation: statistics.generation,
                elapsed_seconds: statistics.time.elapsed_secs_as_float(),
                best_cost: best.get_total_cost().unwrap_or_default(),
                unassigned: best.solution.unassigned.len(),
                routes: best.solution.routes.len(),
            });
        }
    }

    fn cmp(&self, a: &Self::Individual, b: &Self::Individual) -> std::cmp::Ordering {
        self.inner.cmp(a, b)
    }

    fn select<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::Individual> + 'a> {
        self.inner.select()
    }

    fn ranked<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::Individual> + 'a> {
        self.inner.ranked()
    }

    fn all<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::Individual> + 'a> {
        self.inner.all()
    }

    fn size(&self) -> usize {
        self.inner.size()
    }

    fn selection_phase(&self) -> SelectionPhase {
        self.inner.selection_phase()
    }
}
