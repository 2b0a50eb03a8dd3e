//! ETAs kept current: each location report times every open delivery of its driver from
//! the report's newest point, and the ingest stores the times on the deliveries in the
//! statement that stores the points, so keeping them costs no round trip.
//!
//! Travel is the routing core's offline estimate ([`crate::routing::travel`]), the same
//! figure planning falls back to; a provider's road times would cost a call per report.
//! Before the pickup the drop's time adds the vendor's service time and the leg from the
//! vendor; each open delivery is timed as if it were the driver's next (a driver carrying
//! two orders drops one first, which the later one's time does not yet count). How the
//! times read back is [`crate::orders::eta`].

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::{
    geo::Point,
    orders::status::DriverStatus,
    routing::rules::PlanningRules,
    routing::travel::{estimated_seconds, TravelSource},
};

/// The times of one delivery whose driver is at `from` at `now`, its driver status
/// `status` (after any arrival the same report makes).
pub fn estimate(
    status: DriverStatus,
    from: Point,
    pickup: Point,
    dropoff: Point,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, DateTime<Utc>) {
    let leg =
        |a: Point, b: Point| Duration::milliseconds((estimated_seconds(a, b) * 1000.0) as i64);
    let service = Duration::minutes(PlanningRules::default().pickup_service_minutes);
    use DriverStatus::*;
    match status {
        Assigned | EnRouteToVendor => {
            let at_pickup = now + leg(from, pickup);
            (Some(at_pickup), at_pickup + service + leg(pickup, dropoff))
        }
        ArrivedAtVendor => (Some(now), now + service + leg(pickup, dropoff)),
        PickedUp | EnRouteToClient => (None, now + leg(from, dropoff)),
        ArrivedToClient | Completed => (None, now),
    }
}

/// The times a report stores, one row per open delivery: the arrays its statement takes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Timed {
    pub delivery_ids: Vec<Uuid>,
    pub pickups: Vec<Option<DateTime<Utc>>>,
    pub dropoffs: Vec<DateTime<Utc>>,
}

impl Timed {
    pub fn push(
        &mut self,
        delivery_id: Uuid,
        (pickup, dropoff): (Option<DateTime<Utc>>, DateTime<Utc>),
    ) {
        self.delivery_ids.push(delivery_id);
        self.pickups.push(pickup);
        self.dropoffs.push(dropoff);
    }

    /// What the stored times come from.
    pub fn source() -> &'static str {
        TravelSource::Offline.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DriverStatus::*;

    const VENDOR: Point = Point {
        lat: 37.3337,
        lng: -121.8907,
    };
    const CLIENT: Point = Point {
        lat: 37.3861,
        lng: -122.0839,
    };
    const AWAY: Point = Point {
        lat: 37.3000,
        lng: -121.8500,
    };

    #[test]
    fn each_stop_is_timed_from_where_the_driver_is_and_what_is_left() {
        let now = Utc::now();
        let service = Duration::minutes(10);
        let (pickup, drop) = estimate(EnRouteToVendor, AWAY, VENDOR, CLIENT, now);
        let pickup = pickup.expect("before the pickup");
        assert!(pickup > now, "the vendor is some way off");
        let vendor_to_client = drop - pickup - service;
        assert!(
            vendor_to_client > Duration::minutes(5),
            "{vendor_to_client}"
        );
        // At the vendor: now, then the service and the same leg.
        let (at_vendor, drop_after) = estimate(ArrivedAtVendor, VENDOR, VENDOR, CLIENT, now);
        assert_eq!(at_vendor, Some(now));
        assert_eq!(drop_after - now, service + vendor_to_client);
        // Picked up: no pickup time, the drop from where the driver is.
        let (none, from_vendor) = estimate(PickedUp, VENDOR, VENDOR, CLIENT, now);
        assert_eq!(none, None);
        assert_eq!(from_vendor - now, vendor_to_client);
        let (_, nearer) = estimate(EnRouteToClient, CLIENT, VENDOR, CLIENT, now);
        assert_eq!(nearer, now, "at the client's door");
        assert_eq!(
            estimate(ArrivedToClient, AWAY, VENDOR, CLIENT, now),
            (None, now)
        );
    }
}
