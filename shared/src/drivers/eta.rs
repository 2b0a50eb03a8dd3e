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
//!
//! A partner hears the drop ETA (`delivery.eta_changed`) when it first exists and then
//! only once it has moved [`ANNOUNCE_MOVE`] or more, at most every [`ANNOUNCE_EVERY`] per
//! order, so a driver's every report does not become a webhook; and `driver.arriving`
//! once per stop, when the driver is within [`ARRIVING_WITHIN`] or [`ARRIVING_METERS`].

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use serde_json::json;

use super::arrivals::OpenStop;
use crate::{
    db::{p, Transaction},
    error::{ApiResult, Context},
    geo::{haversine_miles, Point, METERS_PER_MILE},
    orders::partner_events::{enqueue_event, WebhookEvent},
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

/// How far the drop ETA must move before the partner hears it again.
pub const ANNOUNCE_MOVE: Duration = Duration::minutes(2);
/// How often, at most, a partner hears one order's ETA.
pub const ANNOUNCE_EVERY: Duration = Duration::seconds(30);

/// Whether a drop ETA is news: the first one, or one that moved [`ANNOUNCE_MOVE`] from
/// the last announced (`(dropoff, at)`) at least [`ANNOUNCE_EVERY`] after it.
pub fn worth_announcing(
    announced: Option<(DateTime<Utc>, DateTime<Utc>)>,
    dropoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    match announced {
        None => true,
        Some((last, at)) => (dropoff - last).abs() >= ANNOUNCE_MOVE && now - at >= ANNOUNCE_EVERY,
    }
}

/// The driver is arriving at a stop within this many minutes ...
pub const ARRIVING_WITHIN: Duration = Duration::minutes(5);
/// ... or this many meters (straight line).
pub const ARRIVING_METERS: f64 = 1_000.0;

/// The stop a driver at `from` is arriving at, if any and not yet announced: the pickup
/// before it is reached, the drop after the pickup.
fn arriving_at(
    stop: &OpenStop,
    from: Point,
    pickup_at: Option<DateTime<Utc>>,
    dropoff_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<(&'static str, DateTime<Utc>, f64)> {
    use DriverStatus::*;
    let (name, place, at, announced) = match stop.driver_status? {
        Assigned | EnRouteToVendor => (
            "pickup",
            stop.pickup?,
            pickup_at?,
            stop.arriving_announced.0,
        ),
        PickedUp | EnRouteToClient => (
            "dropoff",
            stop.dropoff?,
            dropoff_at,
            stop.arriving_announced.1,
        ),
        ArrivedAtVendor | ArrivedToClient | Completed => return None,
    };
    let meters = haversine_miles(from, place) * METERS_PER_MILE;
    let close = at - now <= ARRIVING_WITHIN || meters <= ARRIVING_METERS;
    (close && !announced).then_some((name, at, meters))
}

/// Announces to the orders' partners (those subscribed) the drop ETAs worth it and the
/// stops the driver at `from` is arriving at, and notes what was announced, inside the
/// report's transaction.
pub async fn announce(
    tx: &Transaction<'_>,
    stops: &[OpenStop],
    timed: &Timed,
    from: Point,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    for (i, delivery_id) in timed.delivery_ids.iter().enumerate() {
        let Some(stop) = stops.iter().find(|s| s.delivery_id == *delivery_id) else {
            continue;
        };
        let dropoff = timed.dropoffs[i];
        if let Some((name, at, meters)) = arriving_at(stop, from, timed.pickups[i], dropoff, now) {
            let column = match name {
                "pickup" => "arriving_pickup_announced_at",
                _ => "arriving_dropoff_announced_at",
            };
            tx.execute_typed(
                &format!("UPDATE deliveries SET {column} = now() WHERE id = $1"),
                &[p(delivery_id)],
            )
            .await
            .context("noting the arrival announced")?;
            let details = json!({ "stop": name, "eta": at, "meters": meters.round() });
            enqueue_event(
                tx,
                stop.order_id,
                None,
                WebhookEvent::DriverArriving,
                details,
            )
            .await?;
        }
        if !worth_announcing(stop.announced, dropoff, now) {
            continue;
        }
        tx.execute_typed(
            "UPDATE deliveries SET eta_announced_dropoff = $2, eta_announced_at = $3 WHERE id = $1",
            &[p(delivery_id), p(&dropoff), p(&now)],
        )
        .await
        .context("noting the announced ETA")?;
        let details = json!({
            "etaPickup": timed.pickups[i],
            "etaDropoff": dropoff,
            "previousEtaDropoff": stop.announced.map(|(last, _)| last),
        });
        enqueue_event(tx, stop.order_id, None, WebhookEvent::EtaChanged, details).await?;
    }
    Ok(())
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
    fn an_eta_is_announced_first_then_only_when_it_moves_enough_and_not_too_often() {
        let now = Utc::now();
        let at = now + Duration::minutes(20);
        assert!(worth_announcing(None, at, now), "the first");
        let last = Some((at, now - Duration::minutes(1)));
        assert!(
            !worth_announcing(last, at + Duration::seconds(90), now),
            "moved 90 s"
        );
        assert!(worth_announcing(last, at + Duration::minutes(2), now));
        assert!(
            worth_announcing(last, at - Duration::minutes(3), now),
            "earlier too"
        );
        let just_now = Some((at, now - Duration::seconds(10)));
        assert!(
            !worth_announcing(just_now, at + Duration::minutes(5), now),
            "10 s ago"
        );
    }

    #[test]
    fn a_driver_is_arriving_once_per_stop_when_near_in_time_or_distance() {
        let now = Utc::now();
        let mut stop = OpenStop {
            order_id: Uuid::nil(),
            order_number: "CR-1".into(),
            delivery_id: Uuid::nil(),
            driver_status: Some(EnRouteToVendor),
            pickup: Some(VENDOR),
            dropoff: Some(CLIENT),
            near_pickup: false,
            near_dropoff: false,
            window_end: now,
            delayed: false,
            announced: None,
            arriving_announced: (false, false),
        };
        let far = now + Duration::minutes(12);
        assert_eq!(
            arriving_at(&stop, AWAY, Some(far), far, now),
            None,
            "far, and later"
        );
        let soon = now + Duration::minutes(4);
        let arriving = arriving_at(&stop, AWAY, Some(soon), far, now).expect("soon");
        assert_eq!((arriving.0, arriving.1), ("pickup", soon));
        let near = Point {
            lat: VENDOR.lat - 0.005,
            lng: VENDOR.lng,
        };
        assert_eq!(
            arriving_at(&stop, near, Some(far), far, now).map(|a| a.0),
            Some("pickup"),
            "550 m"
        );
        stop.arriving_announced = (true, false);
        assert_eq!(arriving_at(&stop, near, Some(soon), far, now), None, "once");
        stop.driver_status = Some(PickedUp);
        assert_eq!(
            arriving_at(&stop, AWAY, None, soon, now).map(|a| a.0),
            Some("dropoff")
        );
        stop.driver_status = Some(ArrivedToClient);
        assert_eq!(
            arriving_at(&stop, CLIENT, None, now, now),
            None,
            "there already"
        );
    }

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
