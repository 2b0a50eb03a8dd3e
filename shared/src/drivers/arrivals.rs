//! Arrivals a driver's location reports imply: at the vendor before the pickup, at the
//! client after it. A point near a stop is not yet an arrival: the driver must stay
//! within the radius for a dwell time or a run of consecutive points, and be slow
//! ([`ArrivalRules`], as data), so a single GPS jump or a drive past the door marks
//! nothing. An arrival goes through [`orders::change_status`], like any driver step.
//!
//! The track around a stop is read only when the newest point is near one of the
//! driver's stops, so an ordinary report costs nothing more.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    auth::rbac::Caller,
    db::{p, RowExt, Transaction},
    error::{ApiResult, Context},
    geo::{haversine_miles, Point, METERS_PER_MILE},
    orders::{self, status::DriverStatus, Actor, StatusChange},
};

/// When points near a stop make an arrival.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArrivalRules {
    /// How close to a stop a point must be.
    pub radius_m: f64,
    /// Inside the radius for this long (the first point of the run to the newest) ...
    pub dwell: Duration,
    /// ... or for this many consecutive points.
    pub consecutive_points: usize,
    /// And no faster than this: the newest point's reported speed, or without one the
    /// speed the run's first and newest points imply.
    pub slow_mps: f64,
}

impl Default for ArrivalRules {
    fn default() -> Self {
        Self {
            radius_m: 150.0,
            dwell: Duration::seconds(45),
            consecutive_points: 3,
            slow_mps: 3.0,
        }
    }
}

/// A point of the driver's track, as arrival reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackPoint {
    pub point: Point,
    pub speed_mps: Option<f64>,
    pub recorded_at: DateTime<Utc>,
}

fn meters(a: Point, b: Point) -> f64 {
    haversine_miles(a, b) * METERS_PER_MILE
}

impl ArrivalRules {
    /// Whether the track (oldest first, ending at the newest point) has the driver settled
    /// at `stop`: the newest run of points inside the radius lasts the dwell time or has
    /// the points, and the driver is slow.
    pub fn settled_at(&self, track: &[TrackPoint], stop: Point) -> bool {
        let inside: Vec<&TrackPoint> = track
            .iter()
            .rev()
            .take_while(|t| meters(t.point, stop) <= self.radius_m)
            .collect();
        let (Some(newest), Some(first)) = (inside.first(), inside.last()) else {
            return false;
        };
        let span = newest.recorded_at - first.recorded_at;
        let stayed = inside.len() >= self.consecutive_points || span >= self.dwell;
        let speed = match newest.speed_mps {
            Some(speed) => speed,
            None if span > Duration::zero() => {
                meters(first.point, newest.point) / span.as_seconds_f64()
            }
            // One point and no reported speed: nothing says the driver stopped.
            None => f64::INFINITY,
        };
        stayed && speed <= self.slow_mps
    }
}

/// The arrival a position means for a delivery at `current`, if any: at the vendor
/// before pickup, at the client after it.
pub fn arrival(
    current: Option<DriverStatus>,
    near_pickup: bool,
    near_dropoff: bool,
) -> Option<DriverStatus> {
    use DriverStatus::*;
    match current? {
        status if status < ArrivedAtVendor && near_pickup => Some(ArrivedAtVendor),
        status if status >= PickedUp && status < ArrivedToClient && near_dropoff => {
            Some(ArrivedToClient)
        }
        _ => None,
    }
}

/// An arrival detected from a location report.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Arrival {
    pub order_id: Uuid,
    pub order_number: String,
    pub driver_status: DriverStatus,
}

/// An open delivery of a reporting driver, where its stops are and whether the newest
/// point is near them.
#[derive(Debug, Clone)]
pub struct OpenStop {
    pub order_id: Uuid,
    pub order_number: String,
    pub delivery_id: Uuid,
    pub driver_status: Option<DriverStatus>,
    pub pickup: Option<Point>,
    pub dropoff: Option<Point>,
    pub near_pickup: bool,
    pub near_dropoff: bool,
    /// When the order's window ends (its arrival time).
    pub window_end: DateTime<Utc>,
    /// Whether it has an open predicted delay ([`super::delays`]).
    pub delayed: bool,
    /// The drop ETA last announced to the partner, and when ([`super::eta`]).
    pub announced: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Whether the partner heard `driver.arriving` for the pickup, and for the drop.
    pub arriving_announced: (bool, bool),
}

impl OpenStop {
    /// The arrival the newest point may mean, and the stop it would be at.
    fn candidate(&self) -> Option<(DriverStatus, Point)> {
        let status = arrival(self.driver_status, self.near_pickup, self.near_dropoff)?;
        let stop = match status {
            DriverStatus::ArrivedAtVendor => self.pickup?,
            _ => self.dropoff?,
        };
        Some((status, stop))
    }
}

/// The driver's open deliveries, and whether `at` is within the arrival radius of each
/// one's stops.
pub async fn open_stops(
    tx: &Transaction<'_>,
    driver_id: Uuid,
    at: Point,
) -> ApiResult<Vec<OpenStop>> {
    let rows = tx
        .query_typed(
            "SELECT o.id, o.order_number, o.driver_status, d.id AS delivery_id,
                    o.arrival_date_time AS window_end, d.eta_announced_dropoff, d.eta_announced_at,
                    d.arriving_pickup_announced_at IS NOT NULL AS arriving_pickup_announced,
                    d.arriving_dropoff_announced_at IS NOT NULL AS arriving_dropoff_announced,
                    EXISTS (SELECT 1 FROM delivery_delays dd
                             WHERE dd.order_id = o.id AND dd.recovered_at IS NULL) AS delayed,
                    ST_Y(pa.location::geometry) AS pickup_lat, ST_X(pa.location::geometry) AS pickup_lng,
                    ST_Y(da.location::geometry) AS dropoff_lat, ST_X(da.location::geometry) AS dropoff_lng,
                    COALESCE(ST_DWithin(pa.location, ST_GeogFromText($2), $3), false) AS near_pickup,
                    COALESCE(ST_DWithin(da.location, ST_GeogFromText($2), $3), false) AS near_dropoff
               FROM dispatches ds JOIN orders o ON o.id = ds.order_id
               JOIN deliveries d ON d.dispatch_id = ds.id
               JOIN addresses pa ON pa.id = o.pickup_address_id
               JOIN addresses da ON da.id = o.delivery_address_id
              WHERE ds.driver_id = $1 AND ds.unassigned_at IS NULL AND o.deleted_at IS NULL
                AND order_is_open(o.status)",
            &[
                p(&driver_id),
                p(&at.wkt()),
                p(&ArrivalRules::default().radius_m),
            ],
        )
        .await
        .context("reading the driver's open deliveries")?;
    rows.iter()
        .map(|row| {
            Ok(OpenStop {
                order_id: row.col("id")?,
                order_number: row.col("order_number")?,
                delivery_id: row.col("delivery_id")?,
                driver_status: row.col("driver_status")?,
                pickup: crate::geo::point_at(row, "pickup")?,
                dropoff: crate::geo::point_at(row, "dropoff")?,
                near_pickup: row.col("near_pickup")?,
                near_dropoff: row.col("near_dropoff")?,
                window_end: row.col("window_end")?,
                delayed: row.col("delayed")?,
                announced: row
                    .col::<Option<DateTime<Utc>>>("eta_announced_dropoff")?
                    .zip(row.col::<Option<DateTime<Utc>>>("eta_announced_at")?),
                arriving_announced: (
                    row.col("arriving_pickup_announced")?,
                    row.col("arriving_dropoff_announced")?,
                ),
            })
        })
        .collect()
}

/// How far back the track is read for a dwell.
const TRACK_LOOKBACK: Duration = Duration::minutes(15);
/// The most points read back.
const TRACK_POINTS: i64 = 30;

/// The driver's stored track up to `newest` (this report's points included), oldest first.
async fn recent_track(
    tx: &Transaction<'_>,
    driver_id: Uuid,
    newest: DateTime<Utc>,
) -> ApiResult<Vec<TrackPoint>> {
    let rows = tx
        .query_typed(
            "SELECT ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lng,
                    speed_mps::float8 AS speed, recorded_at
               FROM driver_locations
              WHERE driver_id = $1 AND recorded_at <= $2 AND recorded_at >= $3
              ORDER BY recorded_at DESC LIMIT $4",
            &[
                p(&driver_id),
                p(&newest),
                p(&(newest - TRACK_LOOKBACK)),
                p(&TRACK_POINTS),
            ],
        )
        .await
        .context("reading the track near a stop")?;
    let mut track = rows
        .iter()
        .map(|row| {
            Ok(TrackPoint {
                point: Point {
                    lat: row.col("lat")?,
                    lng: row.col("lng")?,
                },
                speed_mps: row.col("speed")?,
                recorded_at: row.col("recorded_at")?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    track.reverse();
    Ok(track)
}

/// Moves each open delivery whose stop the driver has settled at to its arrival status.
/// Runs after the report's points are stored, so the track includes them.
pub async fn record_arrivals(
    tx: &Transaction<'_>,
    caller: &Caller,
    driver_id: Uuid,
    newest: DateTime<Utc>,
    stops: &[OpenStop],
) -> ApiResult<Vec<Arrival>> {
    let candidates: Vec<(&OpenStop, DriverStatus, Point)> = stops
        .iter()
        .filter_map(|stop| stop.candidate().map(|(status, at)| (stop, status, at)))
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let rules = ArrivalRules::default();
    let track = recent_track(tx, driver_id, newest).await?;
    let mut arrivals = Vec::new();
    for (stop, status, at) in candidates {
        if !rules.settled_at(&track, at) {
            continue;
        }
        let here = track.last().map(|t| t.point).unwrap_or(at);
        let change = StatusChange {
            order: None,
            driver: Some(status),
            actor: Actor::User(caller.user_id),
            note: Some(format!(
                "stayed within {} m (location report)",
                rules.radius_m
            )),
            location: Some((here.lng, here.lat)),
        };
        orders::change_status(tx, stop.order_id, &change).await?;
        tracing::info!(order_id = %stop.order_id, %driver_id, driver_status = %status, "arrival detected");
        arrivals.push(Arrival {
            order_id: stop.order_id,
            order_number: stop.order_number.clone(),
            driver_status: status,
        });
    }
    Ok(arrivals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use DriverStatus::*;

    const DOOR: Point = Point {
        lat: 37.3337,
        lng: -121.8907,
    };

    /// A point `north` meters north of the door, `seconds` after the first.
    fn at(north: f64, seconds: i64, speed: Option<f64>) -> TrackPoint {
        let start = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).expect("time");
        TrackPoint {
            point: Point {
                lat: DOOR.lat + north / 111_195.0,
                lng: DOOR.lng,
            },
            speed_mps: speed,
            recorded_at: start + Duration::seconds(seconds),
        }
    }

    #[test]
    fn a_drive_by_and_a_gps_jump_are_no_arrival_and_a_stop_at_the_door_is() {
        let rules = ArrivalRules::default();
        // Driving past at 14 m/s, a point every 5 s: four points inside, never slow.
        let drive_by: Vec<_> = (0..12)
            .map(|i| at(-300.0 + 70.0 * f64::from(i), 5 * i64::from(i), Some(14.0)))
            .collect();
        for end in 1..=drive_by.len() {
            assert!(!rules.settled_at(&drive_by[..end], DOOR), "{end} points");
        }
        // A jump: one point at the door between points 2 km away.
        let jump = [
            at(2000.0, 0, None),
            at(2010.0, 10, None),
            at(0.0, 20, Some(0.0)),
        ];
        assert!(!rules.settled_at(&jump, DOOR));
        // Slowing to a stop at the door: three points inside, slow.
        let stop = [
            at(-400.0, 0, Some(12.0)),
            at(-120.0, 20, Some(6.0)),
            at(-20.0, 30, Some(1.0)),
            at(-5.0, 40, Some(0.0)),
        ];
        assert!(!rules.settled_at(&stop[..3], DOOR), "two points, 10 s");
        assert!(rules.settled_at(&stop, DOOR));
        // Two points a minute apart without speeds: the dwell, and the implied speed.
        let dwell = [at(-30.0, 0, None), at(-10.0, 60, None)];
        assert!(rules.settled_at(&dwell, DOOR));
        // Leaving again: the newest point outside.
        let leaving = [at(-30.0, 0, None), at(-10.0, 60, None), at(400.0, 90, None)];
        assert!(!rules.settled_at(&leaving, DOOR));
    }

    #[test]
    fn arrivals_follow_the_stops_in_order_and_happen_once() {
        assert_eq!(arrival(Some(Assigned), true, false), Some(ArrivedAtVendor));
        assert_eq!(
            arrival(Some(EnRouteToVendor), true, true),
            Some(ArrivedAtVendor)
        );
        assert_eq!(arrival(Some(ArrivedAtVendor), true, false), None, "once");
        assert_eq!(
            arrival(Some(Assigned), false, true),
            None,
            "not before pickup"
        );
        assert_eq!(arrival(Some(PickedUp), false, true), Some(ArrivedToClient));
        assert_eq!(
            arrival(Some(EnRouteToClient), true, true),
            Some(ArrivedToClient)
        );
        assert_eq!(arrival(Some(ArrivedToClient), false, true), None, "once");
        assert_eq!(arrival(Some(Completed), true, true), None);
        assert_eq!(arrival(None, true, true), None);
    }
}
