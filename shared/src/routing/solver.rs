//! A [`Problem`] solved by `vrp-core`: each shipment a pickup-and-delivery job, each
//! vehicle an actor with its working window, start and end; a goal of fewest unserved,
//! then fewest routes, then least drive time (or distance); the search stopped by a time
//! budget or a cancel flag, with the best solution reported as it improves.
//!
//! Shipments that no vehicle could serve even alone (too large, no vehicle of a type
//! that may carry it, or no vehicle that reaches both stops in time) are set aside with
//! that reason before the search: the reason is certain, and the search is spared them.
//! What the search itself leaves unserved could be served, but not beside the rest.

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use vrp_core::{
    construction::{
        enablers::create_typed_actor_groups,
        features::{
            create_locked_jobs_feature, create_minimize_tours_feature, create_skills_feature,
            JobSkills, JobSkillsDimension, VehicleSkillsDimension,
        },
    },
    models::{
        common::TimeWindow as VrpWindow,
        problem::{Actor, JobIdDimension, Multi, VehicleIdDimension},
        Lock, LockDetail, LockOrder, LockPosition,
    },
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

use super::{
    Objective, Plan, PlannedStop, Problem, Route, RoutingError, Seconds, Shipment, Statistics,
    StopKind, Unassigned, UnassignedReason, Vehicle,
};

// Each hard constraint's code, so an unserved job's reason says which one refused it.
const TIME: ViolationCode = ViolationCode(1);
const CAPACITY: ViolationCode = ViolationCode(2);
const VEHICLE_TYPE: ViolationCode = ViolationCode(3);
const LOCKED: ViolationCode = ViolationCode(4);

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
            false => alone_verdict(problem, shipment),
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
    let search =
        search(problem, &servable, options).map_err(|e| RoutingError::Solver(e.to_string()))?;
    let mut plan = read_solution(problem, &search.solution)?;
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

/// Why no vehicle could serve `shipment` even if it carried nothing else, if so.
fn alone_verdict(problem: &Problem, shipment: &Shipment) -> Option<UnassignedReason> {
    let typed: Vec<&Vehicle> = problem
        .vehicles
        .iter()
        .filter(|v| may_carry(shipment, v))
        .collect();
    if typed.is_empty() {
        return Some(if problem.vehicles.is_empty() {
            UnassignedReason::NoDriverInTime
        } else {
            UnassignedReason::NoVehicleOfType
        });
    }
    if typed.iter().all(|v| v.capacity < shipment.size) {
        return Some(UnassignedReason::TooLarge);
    }
    let in_time = typed
        .iter()
        .filter(|v| v.capacity >= shipment.size)
        .any(|v| reaches_alone(problem, shipment, v));
    (!in_time).then_some(UnassignedReason::NoDriverInTime)
}

fn may_carry(shipment: &Shipment, vehicle: &Vehicle) -> bool {
    shipment
        .vehicle_types
        .as_ref()
        .is_none_or(|types| types.contains(&vehicle.vehicle_type))
}

/// Whether `vehicle`, leaving at the start of its shift, can pick up and deliver
/// `shipment` inside both windows and be back at its end within the shift.
fn reaches_alone(problem: &Problem, shipment: &Shipment, vehicle: &Vehicle) -> bool {
    let m = &problem.matrix;
    let (pickup, delivery) = (&shipment.pickup, &shipment.delivery);
    let at_pickup = vehicle.shift.start + m.duration(vehicle.start, pickup.place);
    let pickup_start = at_pickup.max(pickup.window.start);
    if pickup_start > pickup.window.end {
        return false;
    }
    let at_delivery = pickup_start + pickup.service + m.duration(pickup.place, delivery.place);
    let delivery_start = at_delivery.max(delivery.window.start);
    if delivery_start > delivery.window.end {
        return false;
    }
    let done = delivery_start + delivery.service;
    let back = done + m.duration(delivery.place, vehicle.end);
    back <= vehicle.shift.end
}

struct Search {
    solution: Solution,
    generations: usize,
}

fn search(problem: &Problem, servable: &[usize], options: &SolveOptions) -> GenericResult<Search> {
    let (durations, distances) = problem.matrix.clone().into_parts();
    // The crate's global objective sums a route's whole duration (waiting and service
    // included) when minimising time, not its driving. Drive time is minimised exactly by
    // giving the crate the travel times as the "distance" it minimises.
    let minimised = match problem.objective {
        Objective::DriveTime => durations.clone(),
        Objective::Distance => distances,
    };
    let transport: Arc<dyn TransportCost> =
        Arc::new(SimpleTransportCost::new(durations, minimised)?);
    let objective = TransportFeatureBuilder::new("transport")
        .set_violation_code(TIME)
        .set_transport_cost(transport.clone())
        .build_minimize_distance()?;
    let features = vec![
        MinimizeUnassignedBuilder::new("unassigned").build()?,
        create_minimize_tours_feature("tours")?,
        objective,
        CapacityFeatureBuilder::<SingleDimLoad>::new("capacity")
            .set_violation_code(CAPACITY)
            .build()?,
        create_skills_feature("vehicle_type", VEHICLE_TYPE)?,
    ];
    let goal = GoalContextBuilder::with_features(&features)?.build()?;
    let jobs = servable
        .iter()
        .map(|&i| job(i, &problem.shipments[i]))
        .collect::<GenericResult<Vec<_>>>()?;
    let vehicles = problem
        .vehicles
        .iter()
        .enumerate()
        .map(|(i, v)| vehicle(i, v))
        .collect::<GenericResult<Vec<_>>>()?;
    let kinds: Arc<Vec<String>> = Arc::new(
        problem
            .vehicles
            .iter()
            .map(|v| {
                format!(
                    "{}/{}/{}/{}",
                    v.vehicle_type.as_str(),
                    v.capacity,
                    v.start,
                    v.end
                )
            })
            .collect(),
    );
    let built = ProblemBuilder::default()
        .add_jobs(jobs.into_iter())
        .add_vehicles(vehicles.into_iter())
        .with_goal(goal)
        .with_transport_cost(transport)
        // The search opens a new route with one unused vehicle of each group, so
        // vehicles must be grouped by all that tells them apart: type, size and
        // places (the crate adds the working window).
        .with_vehicle_similarity(move |actors| {
            let kinds = kinds.clone();
            Box::new(create_typed_actor_groups(actors, move |actor| {
                actor
                    .vehicle
                    .dimens
                    .get_vehicle_id()
                    .and_then(|id| id.parse::<usize>().ok())
                    .and_then(|index| kinds.get(index).cloned())
                    .unwrap_or_default()
            }))
        })
        .with_logger(Arc::new(|message: &str| {
            tracing::debug!(message, "routing problem")
        }))
        .build()?;
    let vrp = Arc::new(with_locks(built, problem, features)?);

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

fn job(index: usize, shipment: &Shipment) -> GenericResult<Job> {
    let single = |stop: &super::Stop, demand| {
        SingleBuilder::default()
            .demand(demand)
            .location(stop.place)?
            .duration(stop.service)?
            .times(vec![VrpWindow::new(stop.window.start, stop.window.end)])?
            .build()
    };
    let pickup = single(&shipment.pickup, Demand::pudo_pickup(shipment.size))?;
    let delivery = single(&shipment.delivery, Demand::pudo_delivery(shipment.size))?;
    MultiBuilder::default()
        .id(&index.to_string())
        .dimension(|dimens| {
            if let Some(types) = &shipment.vehicle_types {
                let one_of = types.iter().map(|t| t.as_str().to_owned()).collect();
                dimens.set_job_skills(JobSkills::new(None, Some(one_of), None));
            }
        })
        .add_job(pickup)
        .add_job(delivery)
        .build_as_job()
}

fn vehicle(index: usize, vehicle: &Vehicle) -> GenericResult<vrp_core::models::problem::Vehicle> {
    let detail = VehicleDetailBuilder::default()
        .set_start_location(vehicle.start)
        .set_start_time(vehicle.shift.start)
        // A driver may leave later than the window opens rather than wait at a pickup.
        .set_start_time_latest(vehicle.shift.end)
        .set_end_location(vehicle.end)
        .set_end_time(vehicle.shift.end);
    VehicleBuilder::default()
        .id(&index.to_string())
        .add_detail(detail.build()?)
        .capacity(SingleDimLoad::new(vehicle.capacity))
        .dimension(|dimens| {
            dimens.set_vehicle_skills(HashSet::from([vehicle.vehicle_type.as_str().to_owned()]));
        })
        .build()
}

/// The built problem with its shipments locked to their vehicles, if any are: the crate's
/// locking feature needs the built fleet, so the goal is made again with it.
fn with_locks(
    built: vrp_core::models::Problem,
    problem: &Problem,
    features: Vec<Feature>,
) -> GenericResult<vrp_core::models::Problem> {
    if problem.locks.is_empty() {
        return Ok(built);
    }
    let jobs_by_id: std::collections::HashMap<String, Job> = built
        .jobs
        .all()
        .iter()
        .filter_map(|job| {
            job.dimens()
                .get_job_id()
                .map(|id| (id.clone(), job.clone()))
        })
        .collect();
    let locks: Vec<Arc<Lock>> = problem
        .locks
        .iter()
        .map(|lock| {
            let vehicle = lock.vehicle.to_string();
            // The crate starts the vehicle's route with the locked jobs, one stop per
            // mention: each shipment twice, its pickup then its delivery.
            let jobs = lock
                .shipments
                .iter()
                .filter_map(|s| jobs_by_id.get(&s.to_string()).cloned())
                .flat_map(|job| [job.clone(), job])
                .collect();
            Arc::new(Lock::new(
                Arc::new(move |actor: &Actor| {
                    actor.vehicle.dimens.get_vehicle_id() == Some(&vehicle)
                }),
                vec![LockDetail::new(LockOrder::Any, LockPosition::Any, jobs)],
                false,
            ))
        })
        .collect();
    let mut features = features;
    features.push(create_locked_jobs_feature(
        "locks",
        &built.fleet,
        &locks,
        LOCKED,
    )?);
    let goal = GoalContextBuilder::with_features(&features)?.build()?;
    Ok(vrp_core::models::Problem {
        locks,
        goal: Arc::new(goal),
        ..built
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

/// The crate's solution as a [`Plan`]: stops in order with their times and the load
/// leaving each; distance and drive time recomputed from the matrix.
fn read_solution(problem: &Problem, solution: &Solution) -> Result<Plan, RoutingError> {
    let bad = |what: &str| RoutingError::Solver(format!("unreadable solution: {what}"));
    let index_of = |id: Option<&String>, what: &str| -> Result<usize, RoutingError> {
        id.and_then(|id| id.parse::<usize>().ok())
            .ok_or_else(|| bad(what))
    };
    let mut routes = Vec::with_capacity(solution.routes.len());
    for route in &solution.routes {
        let vehicle = index_of(
            route.actor.vehicle.dimens.get_vehicle_id(),
            "a route without its vehicle",
        )?;
        let mut load = 0;
        let mut stops = Vec::new();
        let mut departure = None;
        let mut end_arrival = None;
        for activity in route.tour.all_activities() {
            let Some(single) = &activity.job else {
                // The start (first) or the return to the end place (last).
                match departure {
                    None => departure = Some(activity.schedule.departure),
                    Some(_) => end_arrival = Some(activity.schedule.arrival),
                }
                continue;
            };
            let multi = Multi::roots(single).ok_or_else(|| bad("a stop outside any shipment"))?;
            let shipment = index_of(multi.dimens.get_job_id(), "a shipment without its id")?;
            let size = problem
                .shipments
                .get(shipment)
                .ok_or_else(|| bad("an unknown shipment"))?
                .size;
            let kind = if multi
                .jobs
                .first()
                .is_some_and(|first| Arc::ptr_eq(first, single))
            {
                load += size;
                StopKind::Pickup
            } else {
                load -= size;
                StopKind::Delivery
            };
            let service = activity.place.duration;
            stops.push(PlannedStop {
                shipment,
                kind,
                place: activity.place.location,
                arrival: activity.schedule.arrival,
                service_start: activity.schedule.departure - service,
                departure: activity.schedule.departure,
                load,
            });
        }
        let v = problem
            .vehicles
            .get(vehicle)
            .ok_or_else(|| bad("an unknown vehicle"))?;
        let (distance, drive_time) = travelled(problem, v, &stops);
        routes.push(Route {
            vehicle,
            departure: departure.ok_or_else(|| bad("a route without a start"))?,
            stops,
            end_arrival: end_arrival.ok_or_else(|| bad("a route that does not end"))?,
            distance,
            drive_time,
        });
    }
    routes.sort_by_key(|r| r.vehicle);
    let unassigned = solution
        .unassigned
        .iter()
        .map(|(job, info)| {
            Ok(Unassigned {
                shipment: index_of(job.dimens().get_job_id(), "an unserved job without its id")?,
                reason: reason(info),
            })
        })
        .collect::<Result<Vec<_>, RoutingError>>()?;
    Ok(Plan {
        routes,
        unassigned,
        statistics: Statistics {
            generations: 0,
            elapsed_seconds: 0.0,
            cost: solution.cost,
        },
    })
}

/// Distance and drive time along a vehicle's stops, from its start to its end place.
pub(crate) fn travelled(
    problem: &Problem,
    vehicle: &Vehicle,
    stops: &[PlannedStop],
) -> (f64, Seconds) {
    let places = std::iter::once(vehicle.start)
        .chain(stops.iter().map(|s| s.place))
        .chain((!stops.is_empty()).then_some(vehicle.end));
    let mut previous = None;
    let (mut distance, mut time) = (0.0, 0.0);
    for place in places {
        if let Some(from) = previous {
            distance += problem.matrix.distance(from, place);
            time += problem.matrix.duration(from, place);
        }
        previous = Some(place);
    }
    (distance, time)
}

/// Why the search left a servable shipment out: the constraint that refused it most.
fn reason(info: &vrp_core::construction::heuristics::UnassignmentInfo) -> UnassignedReason {
    use vrp_core::construction::heuristics::UnassignmentInfo;
    let code = match info {
        UnassignmentInfo::Unknown => None,
        UnassignmentInfo::Simple(code) => Some(*code),
        UnassignmentInfo::Detailed(details) => {
            let mut counts: Vec<(ViolationCode, usize)> = Vec::new();
            for (_, code) in details {
                match counts.iter_mut().find(|(c, _)| c == code) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((*code, 1)),
                }
            }
            counts.into_iter().max_by_key(|(_, n)| *n).map(|(c, _)| c)
        }
    };
    match code {
        // It fits some vehicle alone (checked before the search): the vehicles that
        // could take it are full or busy with the others.
        Some(TIME) | Some(CAPACITY) | Some(LOCKED) => UnassignedReason::DriversBusy,
        Some(VEHICLE_TYPE) => UnassignedReason::NoVehicleOfType,
        _ => UnassignedReason::Unknown,
    }
}
