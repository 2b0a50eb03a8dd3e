//! Shipments no vehicle could serve even alone: too large for every vehicle that may
//! carry it, no vehicle of a type that may, or none that reaches both stops inside their
//! windows and is back within its shift. Their reason is certain, so they are set aside
//! before the search.

use super::super::{Problem, Shipment, UnassignedReason, Vehicle};

/// Why no vehicle could serve `shipment` even if it carried nothing else, if so.
pub(super) fn alone_verdict(problem: &Problem, shipment: &Shipment) -> Option<UnassignedReason> {
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
