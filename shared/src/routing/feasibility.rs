//! An independent check of a [`Plan`] against its [`Problem`]: it trusts none of the
//! solver's arithmetic. Each route is re-timed from the matrix (leave at the stated
//! departure, drive, wait for the window, serve), and the plan must hold:
//!
//! - every shipment exactly once: in one route (its pickup before its delivery) or
//!   unassigned, never both;
//! - each vehicle in at most one route, carrying only shipments its type may carry;
//! - service starting inside every stop's window;
//! - the load never below zero or above the vehicle's capacity;
//! - the route inside the vehicle's working window, back at its end place;
//! - the times and load the plan states equal the re-timed ones.

use std::collections::HashMap;

use super::{Plan, Problem, StopKind};

/// Time the check allows for floating-point rounding.
const EPSILON: f64 = 1e-6;

/// Every way a plan breaks its problem, described (empty when it is feasible).
pub fn violations(problem: &Problem, plan: &Plan) -> Vec<String> {
    let mut found = Vec::new();
    let mut seen: HashMap<usize, &str> = HashMap::new();
    let mut note = |shipment: usize, place: &'static str, found: &mut Vec<String>| {
        if let Some(before) = seen.insert(shipment, place) {
            found.push(format!(
                "shipment {shipment} appears in {before} and again in {place}"
            ));
        }
    };
    let mut vehicles_used = HashMap::new();
    for (r, route) in plan.routes.iter().enumerate() {
        let Some(vehicle) = problem.vehicles.get(route.vehicle) else {
            found.push(format!(
                "route {r} names vehicle {}, which does not exist",
                route.vehicle
            ));
            continue;
        };
        if let Some(other) = vehicles_used.insert(route.vehicle, r) {
            found.push(format!(
                "vehicle {} drives routes {other} and {r}",
                vehicle.id
            ));
        }
        let late = |what: String, at: f64, end: f64| {
            (at > end + EPSILON).then(|| format!("route {r}: {what} at {at:.3}, after {end:.3}"))
        };
        if route.departure + EPSILON < vehicle.shift.start {
            found.push(format!(
                "route {r} leaves at {:.3}, before its shift starts at {:.3}",
                route.departure, vehicle.shift.start
            ));
        }
        let mut clock = route.departure;
        let mut place = vehicle.start;
        let mut load = 0;
        let mut picked: HashMap<usize, usize> = HashMap::new();
        for (i, stop) in route.stops.iter().enumerate() {
            let Some(shipment) = problem.shipments.get(stop.shipment) else {
                found.push(format!(
                    "route {r} stop {i} names shipment {}, which does not exist",
                    stop.shipment
                ));
                continue;
            };
            let (end, kind) = match stop.kind {
                StopKind::Pickup => (&shipment.pickup, "pickup"),
                StopKind::Delivery => (&shipment.delivery, "delivery"),
            };
            if stop.place != end.place {
                found.push(format!(
                    "route {r} stop {i}: the {kind} of shipment {} is at place {}, not {}",
                    stop.shipment, end.place, stop.place
                ));
            }
            let arrival = clock + problem.matrix.duration(place, end.place);
            let start = arrival.max(end.window.start);
            found.extend(late(
                format!("the {kind} of shipment {} starts", stop.shipment),
                start,
                end.window.end,
            ));
            clock = start + end.service;
            place = end.place;
            match stop.kind {
                StopKind::Pickup => {
                    load += shipment.size;
                    picked.insert(stop.shipment, i);
                    if shipment
                        .vehicle_types
                        .as_ref()
                        .is_some_and(|types| !types.contains(&vehicle.vehicle_type))
                    {
                        found.push(format!(
                            "route {r}: shipment {} may not ride in a {}",
                            stop.shipment,
                            vehicle.vehicle_type.as_str()
                        ));
                    }
                }
                StopKind::Delivery => {
                    load -= shipment.size;
                    if picked.remove(&stop.shipment).is_none() {
                        found.push(format!(
                            "route {r}: shipment {} is delivered without being picked up before on this route",
                            stop.shipment
                        ));
                    }
                    note(stop.shipment, "a route", &mut found);
                }
            }
            if load < 0 || load > vehicle.capacity {
                found.push(format!(
                    "route {r} stop {i}: load {load} outside 0..={}",
                    vehicle.capacity
                ));
            }
            let stated = [
                ("arrival", stop.arrival, arrival),
                ("service start", stop.service_start, start),
                ("departure", stop.departure, clock),
            ];
            for (what, said, actual) in stated {
                if (said - actual).abs() > EPSILON.max(actual.abs() * 1e-9) {
                    found.push(format!(
                        "route {r} stop {i}: the plan says {what} {said:.3}, the matrix gives {actual:.3}"
                    ));
                }
            }
            if stop.load != load {
                found.push(format!(
                    "route {r} stop {i}: the plan says load {}, the stops give {load}",
                    stop.load
                ));
            }
        }
        for shipment in picked.keys() {
            found.push(format!(
                "route {r}: shipment {shipment} is picked up and never delivered"
            ));
        }
        let back = clock + problem.matrix.duration(place, vehicle.end);
        found.extend(late(
            "the return to the end place".to_owned(),
            back,
            vehicle.shift.end,
        ));
        if (route.end_arrival - back).abs() > EPSILON.max(back.abs() * 1e-9) {
            found.push(format!(
                "route {r}: the plan says it is back at {:.3}, the matrix gives {back:.3}",
                route.end_arrival
            ));
        }
    }
    for unassigned in &plan.unassigned {
        if unassigned.shipment >= problem.shipments.len() {
            found.push(format!(
                "unassigned shipment {} does not exist",
                unassigned.shipment
            ));
        } else {
            note(unassigned.shipment, "the unassigned", &mut found);
        }
    }
    for shipment in 0..problem.shipments.len() {
        if !seen.contains_key(&shipment) {
            found.push(format!(
                "shipment {shipment} is neither in a route nor unassigned"
            ));
        }
    }
    found
}
