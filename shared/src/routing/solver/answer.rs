//! The crate's solution read back as a [`Plan`]: stops in order with their times and
//! loads, distance and drive time from the matrix, and why each unserved shipment is.

use std::sync::Arc;

use vrp_core::{
    models::problem::{JobIdDimension, Multi, VehicleIdDimension},
    prelude::*,
};

use super::{
    super::{
        Plan, PlannedStop, Problem, Route, RoutingError, Seconds, Statistics, StopKind, Unassigned,
        UnassignedReason, Vehicle,
    },
    model::{CAPACITY, LOCKED, TIME, VEHICLE_TYPE},
};

/// The crate's solution as a [`Plan`]: stops in order with their times and the load
/// leaving each; distance and drive time recomputed from the matrix.
pub(super) fn read_solution(problem: &Problem, solution: &Solution) -> Result<Plan, RoutingError> {
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
