//! A synthetic delivery day for the routing benchmark: catering orders across San José
//! and its neighbours, drivers with working windows from their own start places, travel
//! by the offline estimate, planned by the routing core as the plan job plans a day. It
//! runs in its own process (`load routing-day`) so its peak memory is its own.

use std::time::{Duration, Instant};

use rand::{rngs::StdRng, RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use shared::{
    geo::Point,
    orders::rules::VehicleType,
    routing::{
        feasibility::violations, solve, travel, Objective, Problem, Shipment, SolveOptions, Stop,
        TimeWindow, Vehicle,
    },
};

use crate::LoadError;

const MINUTE: f64 = 60.0;
const HOUR: f64 = 3600.0;

/// What the day's plan came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DayResult {
    pub orders: usize,
    pub drivers: usize,
    pub budget_seconds: f64,
    pub served: usize,
    pub routes: usize,
    pub drive_hours: f64,
    pub generations: usize,
    pub wall_seconds: f64,
    pub peak_rss_mb: f64,
    pub violations: usize,
}

/// A place in San José, Santa Clara, Sunnyvale, Milpitas or Campbell (about 25 × 20 km).
fn place(dice: &mut StdRng) -> Point {
    Point {
        lat: dice.random_range(37.23..37.42),
        lng: dice.random_range(-122.05..-121.80),
    }
}

/// `orders` catering orders and `drivers` working windows of one day, seconds from 06:00.
/// Each order is due between 08:00 and 15:00, inside `[due − 30 min, due]`, picked up in
/// the 90 minutes before that; pickup takes 10 minutes and the drop 15; a size of 1 to 4
/// (by headcount) in cars of 6, vans of 12 and trucks of 24; one order in ten needs at
/// least a van. Drivers work 9 to 10 hours from 06:00–08:00, and end where they start.
pub fn synthetic(orders: usize, drivers: usize, seed: u64) -> Result<Problem, LoadError> {
    let mut dice = StdRng::seed_from_u64(seed);
    let mut points = Vec::with_capacity(orders * 2 + drivers);
    let mut shipments = Vec::with_capacity(orders);
    for i in 0..orders {
        let due = dice.random_range(2.0 * HOUR..9.0 * HOUR);
        let pickup = points.len();
        points.push(place(&mut dice));
        points.push(place(&mut dice));
        shipments.push(Shipment {
            id: format!("order-{i}"),
            pickup: Stop {
                place: pickup,
                window: TimeWindow::new(due - 120.0 * MINUTE, due - 30.0 * MINUTE),
                service: 10.0 * MINUTE,
            },
            delivery: Stop {
                place: pickup + 1,
                window: TimeWindow::new(due - 30.0 * MINUTE, due),
                service: 15.0 * MINUTE,
            },
            size: dice.random_range(1..=4),
            vehicle_types: dice
                .random_bool(0.1)
                .then(|| vec![VehicleType::Van, VehicleType::Truck]),
        });
    }
    let kinds = [
        (VehicleType::Car, 6),
        (VehicleType::Car, 6),
        (VehicleType::Van, 12),
        (VehicleType::Truck, 24),
    ];
    let mut vehicles = Vec::with_capacity(drivers);
    for d in 0..drivers {
        let home = points.len();
        points.push(place(&mut dice));
        let (vehicle_type, capacity) = kinds[d % kinds.len()];
        let start = dice.random_range(0.0..2.0 * HOUR);
        vehicles.push(Vehicle {
            id: format!("driver-{d}"),
            vehicle_type,
            capacity,
            start: home,
            end: home,
            shift: TimeWindow::new(start, start + dice.random_range(9.0..10.0) * HOUR),
        });
    }
    let matrix = travel::estimated(&points).map_err(|e| LoadError::Setup(e.to_string()))?;
    Ok(Problem {
        matrix,
        shipments,
        vehicles,
        objective: Objective::DriveTime,
        locks: Vec::new(),
    })
}

/// Plans the synthetic day within `budget` and measures it, peak memory included.
pub fn plan(orders: usize, drivers: usize, budget: Duration) -> Result<DayResult, LoadError> {
    let started = Instant::now();
    let problem = synthetic(orders, drivers, 2026)?;
    let options = SolveOptions {
        progress: Some(std::sync::Arc::new(|p: &shared::routing::Progress| {
            eprintln!(
                "  day: generation {}, {:.0} s, {} routes, {} unserved, drive time {:.1} h",
                p.generation,
                p.elapsed_seconds,
                p.routes,
                p.unassigned,
                p.best_cost / HOUR
            );
        })),
        progress_interval: Duration::from_secs(5),
        ..SolveOptions::within(budget)
    };
    let plan = solve(&problem, &options).map_err(|e| LoadError::Setup(e.to_string()))?;
    let wall_seconds = started.elapsed().as_secs_f64();
    Ok(DayResult {
        orders,
        drivers,
        budget_seconds: budget.as_secs_f64(),
        served: orders - plan.unassigned.len(),
        routes: plan.routes.len(),
        drive_hours: plan.drive_time() / HOUR,
        generations: plan.statistics.generations,
        wall_seconds,
        peak_rss_mb: peak_rss_mb().unwrap_or(f64::NAN),
        violations: violations(&problem, &plan).len(),
    })
}

/// This process's peak resident memory (`VmHWM`), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
