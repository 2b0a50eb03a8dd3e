//! Route planning: pickup-and-delivery with time windows, capacity, vehicle types and
//! drivers' working windows, solved by `vrp-core` (we describe the problem and read the
//! answer; the search is the crate's).
//!
//! - this module: the problem as planning states it ([`Problem`]: a travel [`Matrix`],
//!   [`Shipment`]s, [`Vehicle`]s, an [`Objective`]) and the answer ([`Plan`]).
//! - [`solver`]: the problem given to `vrp-core`, solved within a time budget with
//!   progress and cancellation, and its solution read back as a [`Plan`].
//! - [`travel`]: the travel matrix between places (the offline estimate).
//! - [`rules`]: what routing assumes of orders and vehicles (windows, service times,
//!   sizes, capacities), as data: plans, offers and ETAs read them.
//! - [`insertion`]: one more shipment fitted into a route as it stands, at the least
//!   added drive time (how auto-dispatch ranks drivers).
//! - [`feasibility`]: an independent check of a plan against its problem (every route
//!   re-timed from the matrix), which the tests and the routing benchmark run on every
//!   plan.
//!
//! Times are seconds from an origin the caller chooses (a plan of a day counts from its
//! first working window); places are indices into the matrix. The objective is
//! lexicographic: serve every shipment, then use the fewest vehicles, then least drive
//! time (or distance, as the published benchmarks score).

pub mod feasibility;
pub mod insertion;
pub mod rules;
pub mod solver;
#[cfg(test)]
mod tests;
pub mod travel;

use serde::Serialize;
use thiserror::Error;

use crate::orders::rules::VehicleType;

pub use solver::{solve, Progress, SolveOptions};

/// Seconds from the plan's origin.
pub type Seconds = f64;

/// What a problem or a solve could not do.
#[derive(Debug, Error, PartialEq)]
pub enum RoutingError {
    #[error("the travel matrix is not square ({0} entries)")]
    MatrixShape(usize),
    #[error("the travel matrix has a negative or non-finite entry at {from} -> {to}")]
    MatrixValue { from: usize, to: usize },
    #[error("{what} {id} names place {place}, outside the matrix of {size}")]
    UnknownPlace {
        what: &'static str,
        id: String,
        place: usize,
        size: usize,
    },
    #[error("{what} {id} has a window that ends before it starts")]
    EmptyWindow { what: &'static str, id: String },
    #[error("shipment {0} has no positive size")]
    NoSize(String),
    #[error("a lock is wrong: {0}")]
    BadLock(String),
    #[error("the solver failed: {0}")]
    Solver(String),
}

/// Travel between places: seconds and meters (or the benchmark's units), row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    size: usize,
    durations: Vec<f64>,
    distances: Vec<f64>,
}

impl Matrix {
    /// A matrix of `size` places; both vectors hold `size × size` entries, `from * size + to`.
    pub fn new(
        size: usize,
        durations: Vec<f64>,
        distances: Vec<f64>,
    ) -> Result<Self, RoutingError> {
        for values in [&durations, &distances] {
            if values.len() != size * size {
                return Err(RoutingError::MatrixShape(values.len()));
            }
            if let Some(at) = values.iter().position(|v| !v.is_finite() || *v < 0.0) {
                return Err(RoutingError::MatrixValue {
                    from: at / size,
                    to: at % size,
                });
            }
        }
        Ok(Self {
            size,
            durations,
            distances,
        })
    }

    /// This matrix and one more place, last, reached from anywhere and left for anywhere
    /// in no time: the end of a route that ends wherever its last stop is.
    pub fn with_free_end(&self) -> Matrix {
        let (n, size) = (self.size, self.size + 1);
        let widen = |values: &[f64]| {
            let mut wide = vec![0.0; size * size];
            for from in 0..n {
                wide[from * size..from * size + n]
                    .copy_from_slice(&values[from * n..(from + 1) * n]);
            }
            wide
        };
        Matrix {
            size,
            durations: widen(&self.durations),
            distances: widen(&self.distances),
        }
    }

    /// Travel where time is distance (the published benchmarks' Euclidean plane).
    pub fn from_distances(size: usize, distances: Vec<f64>) -> Result<Self, RoutingError> {
        Self::new(size, distances.clone(), distances)
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn duration(&self, from: usize, to: usize) -> Seconds {
        self.durations[from * self.size + to]
    }

    pub fn distance(&self, from: usize, to: usize) -> f64 {
        self.distances[from * self.size + to]
    }

    pub(crate) fn into_parts(self) -> (Vec<f64>, Vec<f64>) {
        (self.durations, self.distances)
    }
}

/// A span of time, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimeWindow {
    pub start: Seconds,
    pub end: Seconds,
}

impl TimeWindow {
    pub fn new(start: Seconds, end: Seconds) -> Self {
        Self { start, end }
    }
}

/// One end of a shipment: where, when service may start, and how long it takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stop {
    pub place: usize,
    pub window: TimeWindow,
    pub service: Seconds,
}

/// Something picked up at one place and delivered at another by the same vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct Shipment {
    pub id: String,
    pub pickup: Stop,
    pub delivery: Stop,
    /// Room it takes in a vehicle, in the units of [`Vehicle::capacity`].
    pub size: i32,
    /// The vehicle types that may carry it; any when `None`.
    pub vehicle_types: Option<Vec<VehicleType>>,
}

/// One driver's working window: a vehicle that starts and ends somewhere within a shift.
#[derive(Debug, Clone, PartialEq)]
pub struct Vehicle {
    pub id: String,
    pub vehicle_type: VehicleType,
    pub capacity: i32,
    pub start: usize,
    /// Where the route ends, within the shift.
    pub end: usize,
    pub shift: TimeWindow,
}

/// What to minimise once every shipment that can be served is, on the fewest vehicles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Objective {
    /// Time spent driving (not waiting or serving): a delivery day's cost.
    DriveTime,
    /// Distance travelled: how the published benchmarks score.
    Distance,
}

/// Shipments that must ride with one vehicle (in any order among its stops): a
/// re-plan keeps each driver's orders with it while new ones are fitted in.
#[derive(Debug, Clone, PartialEq)]
pub struct Lock {
    /// Index into [`Problem::vehicles`].
    pub vehicle: usize,
    /// Indices into [`Problem::shipments`].
    pub shipments: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub matrix: Matrix,
    pub shipments: Vec<Shipment>,
    pub vehicles: Vec<Vehicle>,
    pub objective: Objective,
    pub locks: Vec<Lock>,
}

impl Problem {
    /// Checks every place against the matrix and every window and size.
    pub fn validate(&self) -> Result<(), RoutingError> {
        let size = self.matrix.size();
        let place = |what, id: &str, place: usize| {
            if place < size {
                Ok(())
            } else {
                Err(RoutingError::UnknownPlace {
                    what,
                    id: id.to_owned(),
                    place,
                    size,
                })
            }
        };
        let window = |what, id: &str, w: TimeWindow| {
            if w.end >= w.start {
                Ok(())
            } else {
                Err(RoutingError::EmptyWindow {
                    what,
                    id: id.to_owned(),
                })
            }
        };
        for s in &self.shipments {
            place("shipment", &s.id, s.pickup.place)?;
            place("shipment", &s.id, s.delivery.place)?;
            window("shipment", &s.id, s.pickup.window)?;
            window("shipment", &s.id, s.delivery.window)?;
            if s.size <= 0 {
                return Err(RoutingError::NoSize(s.id.clone()));
            }
        }
        for v in &self.vehicles {
            place("vehicle", &v.id, v.start)?;
            place("vehicle", &v.id, v.end)?;
            window("vehicle", &v.id, v.shift)?;
        }
        let mut locked = std::collections::HashSet::new();
        for lock in &self.locks {
            if lock.vehicle >= self.vehicles.len() {
                return Err(RoutingError::BadLock(format!(
                    "vehicle {} does not exist",
                    lock.vehicle
                )));
            }
            for &s in &lock.shipments {
                if s >= self.shipments.len() || !locked.insert(s) {
                    return Err(RoutingError::BadLock(format!(
                        "shipment {s} does not exist or is locked twice"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Which end of a shipment a stop serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StopKind {
    Pickup,
    Delivery,
}

/// A stop of a planned route.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedStop {
    /// Index into [`Problem::shipments`].
    pub shipment: usize,
    pub kind: StopKind,
    pub place: usize,
    pub arrival: Seconds,
    /// When service starts: the arrival, or the window's start after waiting for it.
    pub service_start: Seconds,
    pub departure: Seconds,
    /// What the vehicle carries when it leaves.
    pub load: i32,
}

/// One vehicle's route.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    /// Index into [`Problem::vehicles`].
    pub vehicle: usize,
    pub departure: Seconds,
    pub stops: Vec<PlannedStop>,
    /// Back at the vehicle's end place.
    pub end_arrival: Seconds,
    pub distance: f64,
    pub drive_time: Seconds,
}

impl Route {
    /// A route visiting `visits` in order, timed from the matrix: leave at `departure`,
    /// drive, wait for each window to open, serve. For plans made elsewhere (another
    /// solver's, a dispatcher's), so they can be checked and compared like ours.
    pub fn retimed(
        problem: &Problem,
        vehicle: usize,
        departure: Seconds,
        visits: &[(usize, StopKind)],
    ) -> Option<Route> {
        let v = problem.vehicles.get(vehicle)?;
        let (mut clock, mut place, mut load) = (departure, v.start, 0);
        let mut stops = Vec::with_capacity(visits.len());
        for &(shipment, kind) in visits {
            let s = problem.shipments.get(shipment)?;
            let (stop, change) = match kind {
                StopKind::Pickup => (&s.pickup, s.size),
                StopKind::Delivery => (&s.delivery, -s.size),
            };
            let arrival = clock + problem.matrix.duration(place, stop.place);
            let service_start = arrival.max(stop.window.start);
            clock = service_start + stop.service;
            place = stop.place;
            load += change;
            stops.push(PlannedStop {
                shipment,
                kind,
                place,
                arrival,
                service_start,
                departure: clock,
                load,
            });
        }
        let (distance, drive_time) = solver::travelled(problem, v, &stops);
        Some(Route {
            vehicle,
            departure,
            end_arrival: clock + problem.matrix.duration(place, v.end),
            stops,
            distance,
            drive_time,
        })
    }
}

/// Why a shipment is in no route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnassignedReason {
    /// No vehicle can reach its stops inside their windows and its own working window.
    NoDriverInTime,
    /// Larger than any vehicle's capacity.
    TooLarge,
    /// No vehicle of a type that may carry it.
    NoVehicleOfType,
    /// It fits some vehicle alone, but every vehicle that could take it is full or busy
    /// with the others.
    DriversBusy,
    /// The solver gave no reason.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unassigned {
    /// Index into [`Problem::shipments`].
    pub shipment: usize,
    pub reason: UnassignedReason,
}

/// How the search went.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Statistics {
    pub generations: usize,
    pub elapsed_seconds: f64,
    /// The solver's cost of the plan (drive time or distance, per the objective).
    pub cost: f64,
}

/// The answer: routes, what could not be served and why, and how the search went.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub routes: Vec<Route>,
    pub unassigned: Vec<Unassigned>,
    pub statistics: Statistics,
}

impl Plan {
    pub fn distance(&self) -> f64 {
        self.routes.iter().map(|r| r.distance).sum()
    }

    pub fn drive_time(&self) -> Seconds {
        self.routes.iter().map(|r| r.drive_time).sum()
    }
}
