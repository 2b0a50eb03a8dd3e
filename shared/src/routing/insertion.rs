//! One more shipment fitted into one vehicle's route, the route's other stops kept in
//! their order: every place for its pickup and, after it, its delivery is timed from the
//! matrix and checked by [`feasibility`](super::feasibility); the least added drive time
//! wins. This is how auto-dispatch ranks drivers for a new order: by what taking it
//! costs on the route the driver already drives, not by straight distance.
//!
//! A shipment already on board is described as picked up where the vehicle is now (its
//! start place, at once), so the route still holds every pickup before its delivery.

use super::{feasibility, Plan, Problem, Route, Seconds, Statistics, StopKind, Unassigned};

/// The cheapest way to add a shipment to a route.
#[derive(Debug, Clone, PartialEq)]
pub struct Insertion {
    /// The route with the shipment in it, timed.
    pub route: Route,
    /// Drive time it adds to the route as it was.
    pub added_drive_time: Seconds,
}

/// The cheapest feasible insertion of `shipment` into the route of `vehicle` visiting
/// `visits` in order from `departure`, at or after position `first_open` (the stops
/// before it are on board or done), or `None` when no place for it keeps the route
/// feasible. A route that was already late somewhere may stay so, but no insertion may
/// add a violation (a later lateness is a new one).
pub fn cheapest(
    problem: &Problem,
    vehicle: usize,
    departure: Seconds,
    visits: &[(usize, StopKind)],
    first_open: usize,
    shipment: usize,
) -> Option<Insertion> {
    let base = Route::retimed(problem, vehicle, departure, visits)?;
    let others: Vec<usize> = (0..problem.shipments.len())
        .filter(|&s| s != shipment && !visits.iter().any(|&(v, _)| v == s))
        .collect();
    let unassigned = |extra: Option<usize>| {
        others
            .iter()
            .copied()
            .chain(extra)
            .map(|shipment| Unassigned {
                shipment,
                reason: super::UnassignedReason::Unknown,
            })
            .collect()
    };
    let plan_of = |route: Route, extra| Plan {
        routes: vec![route],
        unassigned: unassigned(extra),
        statistics: Statistics {
            generations: 0,
            elapsed_seconds: 0.0,
            cost: 0.0,
        },
    };
    let before = feasibility::violations(problem, &plan_of(base.clone(), Some(shipment)));
    let mut best: Option<Insertion> = None;
    for pickup_at in first_open.min(visits.len())..=visits.len() {
        for delivery_at in pickup_at..=visits.len() {
            let mut candidate = visits.to_vec();
            candidate.insert(delivery_at, (shipment, StopKind::Delivery));
            candidate.insert(pickup_at, (shipment, StopKind::Pickup));
            let Some(route) = Route::retimed(problem, vehicle, departure, &candidate) else {
                continue;
            };
            let added = route.drive_time - base.drive_time;
            if best.as_ref().is_some_and(|b| b.added_drive_time <= added) {
                continue;
            }
            let after = feasibility::violations(problem, &plan_of(route.clone(), None));
            if after.iter().all(|v| before.contains(v)) {
                best = Some(Insertion {
                    route,
                    added_drive_time: added.max(0.0),
                });
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        orders::rules::VehicleType,
        routing::{Matrix, Objective, Shipment, Stop, TimeWindow, Vehicle},
    };

    /// Places on a line, a minute apart each.
    fn line(places: usize) -> Matrix {
        let mut durations = Vec::new();
        for from in 0..places {
            for to in 0..places {
                durations.push(60.0 * (from as f64 - to as f64).abs());
            }
        }
        Matrix::new(places, durations.clone(), durations).expect("a square matrix")
    }

    fn shipment(id: &str, pickup: usize, delivery: usize, by: Seconds) -> Shipment {
        Shipment {
            id: id.to_owned(),
            pickup: Stop {
                place: pickup,
                window: TimeWindow::new(0.0, by),
                service: 0.0,
            },
            delivery: Stop {
                place: delivery,
                window: TimeWindow::new(0.0, by),
                service: 0.0,
            },
            size: 1,
            vehicle_types: None,
        }
    }

    fn problem(shipments: Vec<Shipment>, capacity: i32) -> Problem {
        Problem {
            matrix: line(10),
            shipments,
            vehicles: vec![Vehicle {
                id: "v".to_owned(),
                vehicle_type: VehicleType::Car,
                capacity,
                start: 0,
                end: 0,
                shift: TimeWindow::new(0.0, 100_000.0),
            }],
            objective: Objective::DriveTime,
            locks: Vec::new(),
        }
    }

    #[test]
    fn a_shipment_on_the_way_rides_along_for_nothing_extra() {
        // Carrying 0→8; a new 2→5 lies on the way out.
        let p = problem(
            vec![shipment("a", 0, 8, 10_000.0), shipment("b", 2, 5, 10_000.0)],
            3,
        );
        let visits = [(0, StopKind::Pickup), (0, StopKind::Delivery)];
        let best = cheapest(&p, 0, 0.0, &visits, 1, 1).expect("fits");
        assert_eq!(best.added_drive_time, 0.0);
        let order: Vec<_> = best.route.stops.iter().map(|s| s.place).collect();
        assert_eq!(order, vec![0, 2, 5, 8]);
    }

    #[test]
    fn the_detour_is_what_it_adds() {
        // Carrying 0→2; a new 4→6 adds the drive from 2 to 6 and back to 2 (8 minutes).
        let p = problem(
            vec![shipment("a", 0, 2, 10_000.0), shipment("b", 4, 6, 10_000.0)],
            3,
        );
        let visits = [(0, StopKind::Pickup), (0, StopKind::Delivery)];
        let best = cheapest(&p, 0, 0.0, &visits, 1, 1).expect("fits");
        assert_eq!(best.added_drive_time, 8.0 * 60.0);
    }

    #[test]
    fn no_place_that_makes_a_carried_delivery_late_or_overloads() {
        // Carrying 0→2, due by minute 2: any detour first makes it late.
        let p = problem(
            vec![shipment("a", 0, 2, 120.0), shipment("b", 9, 9, 10_000.0)],
            3,
        );
        let visits = [(0, StopKind::Pickup), (0, StopKind::Delivery)];
        let best = cheapest(&p, 0, 0.0, &visits, 1, 1).expect("after the delivery");
        let order: Vec<_> = best.route.stops.iter().map(|s| s.shipment).collect();
        assert_eq!(order, vec![0, 0, 1, 1]);
        // With room for one, the new one cannot ride beside the carried one (on board,
        // so nothing goes before its pickup), and one due before the carried one is
        // delivered fits nowhere.
        let full = problem(
            vec![shipment("a", 0, 8, 10_000.0), shipment("b", 2, 5, 400.0)],
            1,
        );
        assert!(cheapest(&full, 0, 0.0, &visits, 1, 1).is_none());
    }
}
