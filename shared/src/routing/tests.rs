//! The routing core on small problems whose answers are known, on random days checked by
//! the independent feasibility check, and the check itself shown to refuse broken plans.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use rand::{rngs::StdRng, RngExt, SeedableRng};

use super::{
    feasibility::violations, solve, Matrix, Objective, Plan, Problem, Shipment, SolveOptions, Stop,
    StopKind, TimeWindow, UnassignedReason, Vehicle,
};
use crate::orders::rules::VehicleType;

/// Places on a plane, travel time equal to distance (whole units).
fn plane(points: &[(f64, f64)]) -> Matrix {
    let n = points.len();
    let mut distances = Vec::with_capacity(n * n);
    for a in points {
        for b in points {
            distances.push(((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt());
        }
    }
    Matrix::from_distances(n, distances).expect("a square matrix")
}

fn stop(place: usize, window: (f64, f64), service: f64) -> Stop {
    Stop {
        place,
        window: TimeWindow::new(window.0, window.1),
        service,
    }
}

fn shipment(id: &str, pickup: Stop, delivery: Stop, size: i32) -> Shipment {
    Shipment {
        id: id.to_owned(),
        pickup,
        delivery,
        size,
        vehicle_types: None,
    }
}

fn vehicle(id: &str, kind: VehicleType, capacity: i32, depot: usize, shift: (f64, f64)) -> Vehicle {
    Vehicle {
        id: id.to_owned(),
        vehicle_type: kind,
        capacity,
        start: depot,
        end: depot,
        shift: TimeWindow::new(shift.0, shift.1),
    }
}

fn quick() -> SolveOptions {
    SolveOptions {
        max_generations: Some(200),
        ..SolveOptions::within(Duration::from_secs(5))
    }
}

fn solved(problem: &Problem) -> Plan {
    let plan = solve(problem, &quick()).expect("solved");
    let broken = violations(problem, &plan);
    assert!(broken.is_empty(), "an infeasible plan: {broken:#?}");
    plan
}

/// A depot at 0 and two pickup-delivery pairs along a line, all windows open.
fn line_day() -> Problem {
    let matrix = plane(&[
        (0.0, 0.0),
        (10.0, 0.0),
        (20.0, 0.0),
        (12.0, 0.0),
        (22.0, 0.0),
    ]);
    Problem {
        matrix,
        shipments: vec![
            shipment(
                "a",
                stop(1, (0.0, 1000.0), 5.0),
                stop(2, (0.0, 1000.0), 5.0),
                3,
            ),
            shipment(
                "b",
                stop(3, (0.0, 1000.0), 5.0),
                stop(4, (0.0, 1000.0), 5.0),
                3,
            ),
        ],
        vehicles: vec![
            vehicle("v1", VehicleType::Car, 10, 0, (0.0, 1000.0)),
            vehicle("v2", VehicleType::Car, 10, 0, (0.0, 1000.0)),
        ],
        objective: Objective::DriveTime,
        locks: Vec::new(),
    }
}

#[test]
fn both_shipments_ride_one_vehicle_picked_up_before_delivered() {
    let problem = line_day();
    let plan = solved(&problem);
    assert!(plan.unassigned.is_empty());
    assert_eq!(plan.routes.len(), 1, "fewest vehicles: {plan:#?}");
    let stops = &plan.routes[0].stops;
    assert_eq!(stops.len(), 4);
    for s in 0..2 {
        let at = |kind| stops.iter().position(|x| x.shipment == s && x.kind == kind);
        assert!(at(StopKind::Pickup) < at(StopKind::Delivery), "{stops:#?}");
    }
    // Out to 22 and back: nothing shorter serves both.
    assert!((plan.drive_time() - 44.0).abs() < 1e-6, "{plan:#?}");
    assert!(plan.statistics.generations > 0);
}

#[test]
fn a_tight_capacity_splits_the_day_over_two_vehicles() {
    let mut problem = line_day();
    for v in &mut problem.vehicles {
        v.capacity = 3;
    }
    // Each pickup leaves the van full, so a second pickup must wait for a delivery.
    let plan = solved(&problem);
    assert!(plan.unassigned.is_empty());
    assert!(plan
        .routes
        .iter()
        .all(|r| r.stops.iter().all(|s| s.load <= 3)));
}

#[test]
fn shipments_no_vehicle_could_serve_are_set_aside_with_their_reason() {
    let mut problem = line_day();
    problem.shipments.push(shipment(
        "too big",
        stop(1, (0.0, 1000.0), 5.0),
        stop(2, (0.0, 1000.0), 5.0),
        11,
    ));
    let mut needs_truck = shipment(
        "truck",
        stop(1, (0.0, 1000.0), 5.0),
        stop(2, (0.0, 1000.0), 5.0),
        1,
    );
    needs_truck.vehicle_types = Some(vec![VehicleType::Truck]);
    problem.shipments.push(needs_truck);
    // Its delivery window closes before anyone could get there.
    problem.shipments.push(shipment(
        "too soon",
        stop(1, (0.0, 1000.0), 5.0),
        stop(2, (0.0, 12.0), 5.0),
        1,
    ));
    let plan = solved(&problem);
    let reasons: Vec<(usize, UnassignedReason)> = plan
        .unassigned
        .iter()
        .map(|u| (u.shipment, u.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            (2, UnassignedReason::TooLarge),
            (3, UnassignedReason::NoVehicleOfType),
            (4, UnassignedReason::NoDriverInTime),
        ]
    );
    assert_eq!(plan.routes.iter().map(|r| r.stops.len()).sum::<usize>(), 4);
}

#[test]
fn a_shipment_that_needs_a_truck_rides_in_the_truck() {
    let mut problem = line_day();
    problem.vehicles[1].vehicle_type = VehicleType::Truck;
    problem.shipments[1].vehicle_types = Some(vec![VehicleType::Truck]);
    let plan = solved(&problem);
    assert!(plan.unassigned.is_empty());
    let carrier = plan
        .routes
        .iter()
        .find(|r| r.stops.iter().any(|s| s.shipment == 1))
        .expect("shipment b is served");
    assert_eq!(carrier.vehicle, 1);
}

#[test]
fn without_vehicles_or_shipments_the_plan_is_empty_with_reasons() {
    let mut problem = line_day();
    problem.vehicles.clear();
    let plan = solved(&problem);
    assert!(plan.routes.is_empty());
    assert!(plan
        .unassigned
        .iter()
        .all(|u| u.reason == UnassignedReason::NoDriverInTime));
    assert_eq!(plan.unassigned.len(), 2);

    let mut problem = line_day();
    problem.shipments.clear();
    assert_eq!(solved(&problem).routes, []);
}

#[test]
fn a_problem_naming_places_outside_its_matrix_is_refused() {
    let mut problem = line_day();
    problem.shipments[0].delivery.place = 9;
    assert!(matches!(
        solve(&problem, &quick()),
        Err(super::RoutingError::UnknownPlace { place: 9, .. })
    ));
    assert!(Matrix::new(2, vec![0.0; 3], vec![0.0; 4]).is_err());
    assert!(Matrix::new(2, vec![0.0, -1.0, 0.0, 0.0], vec![0.0; 4]).is_err());
}

#[test]
fn the_search_stops_at_its_budget_or_when_cancelled_and_reports_progress() {
    let problem = random_day(7, 40, 6);
    let reports = Arc::new(AtomicUsize::new(0));
    let heard = reports.clone();
    let cancel = Arc::new(AtomicBool::new(false));
    let options = SolveOptions {
        progress: Some(Arc::new(move |_| {
            heard.fetch_add(1, Ordering::Relaxed);
        })),
        progress_interval: Duration::ZERO,
        cancel: Some(cancel.clone()),
        ..SolveOptions::within(Duration::from_millis(700))
    };
    let started = Instant::now();
    let plan = solve(&problem, &options).expect("solved");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "the budget was 0.7 s; it took {took:?}"
    );
    assert!(
        reports.load(Ordering::Relaxed) > 0,
        "no progress was reported"
    );
    assert!(violations(&problem, &plan).is_empty());

    cancel.store(true, Ordering::Relaxed);
    let plan = solve(
        &problem,
        &SolveOptions {
            cancel: Some(cancel),
            ..SolveOptions::within(Duration::from_secs(60))
        },
    )
    .expect("solved");
    assert!(
        violations(&problem, &plan).is_empty(),
        "a cancelled search still answers a feasible plan"
    );
}

/// A random day: `shipments` pairs and `vehicles` of mixed types and depots on a 100 × 100
/// plane, windows of random width, some shipments needing a van or truck.
fn random_day(seed: u64, shipments: usize, vehicles: usize) -> Problem {
    // Seeded, so a failing day can be replayed by its seed.
    let mut dice = StdRng::seed_from_u64(seed);
    let depots = 2;
    let mut points: Vec<(f64, f64)> = (0..depots)
        .map(|_| (dice.random_range(0.0..100.0), dice.random_range(0.0..100.0)))
        .collect();
    let mut list = Vec::new();
    for i in 0..shipments {
        let pickup = points.len();
        points.push((dice.random_range(0.0..100.0), dice.random_range(0.0..100.0)));
        points.push((dice.random_range(0.0..100.0), dice.random_range(0.0..100.0)));
        let open = dice.random_range(0.0..400.0);
        let width = dice.random_range(20.0..200.0);
        let mut s = shipment(
            &format!("s{i}"),
            stop(pickup, (open, open + width), 5.0),
            stop(pickup + 1, (open + 30.0, open + 30.0 + width * 1.5), 10.0),
            dice.random_range(1..=5),
        );
        if dice.random_bool(1.0 / 6.0) {
            s.vehicle_types = Some(vec![VehicleType::Van, VehicleType::Truck]);
        }
        list.push(s);
    }
    let kinds = [VehicleType::Car, VehicleType::Van, VehicleType::Truck];
    let fleet = (0..vehicles)
        .map(|v| {
            let kind = kinds[v % 3];
            let start = dice.random_range(0.0..100.0);
            vehicle(
                &format!("v{v}"),
                kind,
                6 + 4 * (v % 3) as i32,
                v % depots,
                (start, start + 600.0),
            )
        })
        .collect();
    Problem {
        matrix: plane(&points),
        shipments: list,
        vehicles: fleet,
        objective: Objective::DriveTime,
        locks: Vec::new(),
    }
}

#[test]
fn every_random_day_plans_feasibly_with_every_shipment_accounted_for() {
    let (mut served, mut total) = (0, 0);
    for seed in 0..12 {
        let problem = random_day(seed, 25, 5);
        let plan = solve(&problem, &quick()).expect("solved");
        total += problem.shipments.len();
        served += problem.shipments.len() - plan.unassigned.len();
        let broken = violations(&problem, &plan);
        assert!(broken.is_empty(), "seed {seed}: {broken:#?}");
        // Certain reasons are certain: a shipment set aside as too large is.
        for u in &plan.unassigned {
            if u.reason == UnassignedReason::TooLarge {
                let size = problem.shipments[u.shipment].size;
                assert!(
                    problem.vehicles.iter().all(|v| v.capacity < size),
                    "seed {seed}"
                );
            }
        }
    }
    // The days are loose enough that most shipments ride: the check saw real routes.
    assert!(
        served * 10 >= total * 8,
        "only {served} of {total} shipments were served"
    );
}

#[test]
fn the_check_refuses_each_kind_of_broken_plan() {
    let problem = line_day();
    let plan = solved(&problem);
    let route = 0;
    let expect = |what: &str, broken: Plan, needle: &str| {
        let found = violations(&problem, &broken);
        assert!(
            found.iter().any(|v| v.contains(needle)),
            "{what}: expected a violation mentioning {needle:?}, got {found:#?}"
        );
    };

    let mut swapped = plan.clone();
    let stops = &mut swapped.routes[route].stops;
    let first_delivery = stops
        .iter()
        .position(|s| s.kind == StopKind::Delivery)
        .expect("a delivery");
    let its_pickup = stops
        .iter()
        .position(|s| s.kind == StopKind::Pickup && s.shipment == stops[first_delivery].shipment)
        .expect("its pickup");
    stops.swap(first_delivery, its_pickup);
    expect("delivery before pickup", swapped, "without being picked up");

    let mut dropped = plan.clone();
    dropped.routes[route].stops.retain(|s| s.shipment != 0);
    expect(
        "a shipment missing",
        dropped,
        "neither in a route nor unassigned",
    );

    let mut twice = plan.clone();
    twice.unassigned.push(super::Unassigned {
        shipment: 1,
        reason: UnassignedReason::Unknown,
    });
    expect("a shipment served and unassigned", twice, "again in");

    let mut early = plan.clone();
    early.routes[route].stops[0].arrival -= 1.0;
    expect(
        "a stated time the matrix disagrees with",
        early,
        "the matrix gives",
    );

    let mut small = problem.clone();
    small.vehicles[0].capacity = 3;
    small.vehicles[1].capacity = 3;
    // The shortest route (drive time 44) carries both at once: a load of 6.
    assert_eq!(
        plan.routes[route].stops.iter().map(|s| s.load).max(),
        Some(6)
    );
    let found = violations(&small, &plan);
    assert!(
        found.iter().any(|v| v.contains("load 6 outside")),
        "{found:#?}"
    );

    let mut closed = problem.clone();
    closed.shipments[1].delivery.window = TimeWindow::new(0.0, 1.0);
    let found = violations(&closed, &plan);
    assert!(found.iter().any(|v| v.contains("starts at")), "{found:#?}");

    let mut short_shift = problem.clone();
    let v = plan.routes[route].vehicle;
    short_shift.vehicles[v].shift.end = 10.0;
    let found = violations(&short_shift, &plan);
    assert!(
        found.iter().any(|v| v.contains("return to the end place")),
        "{found:#?}"
    );

    let mut typed = problem.clone();
    typed.shipments[0].vehicle_types = Some(vec![VehicleType::Truck]);
    let found = violations(&typed, &plan);
    assert!(
        found.iter().any(|v| v.contains("may not ride")),
        "{found:#?}"
    );

    let mut two_routes = plan.clone();
    let copy = two_routes.routes[route].clone();
    two_routes.routes.push(copy);
    let found = violations(&problem, &two_routes);
    assert!(
        found.iter().any(|v| v.contains("drives routes")),
        "{found:#?}"
    );
}

#[test]
fn a_locked_shipment_rides_with_its_vehicle_even_at_the_cost_of_another_route() {
    let mut problem = line_day();
    problem.locks = vec![super::Lock {
        vehicle: 1,
        shipments: vec![1],
    }];
    let plan = solved(&problem);
    assert!(plan.unassigned.is_empty());
    let carrier = plan
        .routes
        .iter()
        .find(|r| r.stops.iter().any(|s| s.shipment == 1))
        .expect("shipment b is served");
    assert_eq!(carrier.vehicle, 1, "{plan:#?}");

    for bad in [
        super::Lock {
            vehicle: 5,
            shipments: vec![0],
        },
        super::Lock {
            vehicle: 0,
            shipments: vec![7],
        },
    ] {
        let mut wrong = line_day();
        wrong.locks = vec![bad];
        assert!(matches!(
            solve(&wrong, &quick()),
            Err(super::RoutingError::BadLock(_))
        ));
    }
}
