//! A location report's points, checked: ranges, recorded within the last day and not in
//! the future, and plausible (a point implying an impossible speed from the one before
//! is a GPS jump and left out).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::super::shifts::MAX_PLAUSIBLE_SPEED_MPS;
use crate::{
    error::{ApiResult, FieldError},
    geo::{haversine_miles, Point},
    input::Validator,
};

/// Points one report may carry.
pub const MAX_BATCH: usize = 100;
/// Points older than this are refused: the track is for live tracking and mileage.
pub const MAX_POINT_AGE: chrono::Duration = chrono::Duration::days(1);
/// Device clocks run a little ahead; more than this is a point from the future.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(2);

/// One point as the driver app sends it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationPoint {
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub accuracy: Option<f64>,
    pub speed: Option<f64>,
    pub heading: Option<f64>,
    pub altitude: Option<f64>,
    pub battery_level: Option<f64>,
    pub is_moving: Option<bool>,
    pub activity_type: Option<String>,
    pub recorded_at: Option<String>,
    pub driver_id: Option<Uuid>,
}

/// A report: `{locations: [...]}`, a bare array, or one point.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum LocationReport {
    Batch {
        locations: Vec<LocationPoint>,
        #[serde(rename = "driverId")]
        driver_id: Option<Uuid>,
    },
    Many(Vec<LocationPoint>),
    One(LocationPoint),
}

impl LocationReport {
    /// The points, whether each field is named `locations[i].x` or `x`, and the driver
    /// the report claims to be for.
    pub(super) fn parts(&self) -> (&[LocationPoint], bool, Option<Uuid>) {
        match self {
            LocationReport::Batch {
                locations,
                driver_id,
            } => (
                locations,
                true,
                driver_id.or_else(|| locations.iter().find_map(|l| l.driver_id)),
            ),
            LocationReport::Many(points) => (points, true, points.iter().find_map(|l| l.driver_id)),
            LocationReport::One(point) => (std::slice::from_ref(point), false, point.driver_id),
        }
    }
}

/// A checked point.
#[derive(Debug, Clone)]
pub(super) struct Checked {
    pub(super) index: usize,
    pub(super) point: Point,
    pub(super) accuracy: Option<f64>,
    pub(super) speed: Option<f64>,
    pub(super) heading: Option<f64>,
    pub(super) altitude: Option<f64>,
    pub(super) battery: Option<i16>,
    pub(super) is_moving: Option<bool>,
    pub(super) activity: Option<String>,
    pub(super) recorded_at: DateTime<Utc>,
}

/// A point left out, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rejected {
    pub index: usize,
    pub reason: String,
}

fn in_range(
    v: &mut Validator,
    field: &str,
    value: Option<f64>,
    range: std::ops::RangeInclusive<f64>,
) -> Option<Option<f64>> {
    match value {
        Some(x) if !range.contains(&x) => {
            v.take::<()>(Err(FieldError::new(
                field,
                format!("must be {} to {}", range.start(), range.end()),
            )));
            None
        }
        other => Some(other),
    }
}

fn check_point(
    v: &mut Validator,
    index: usize,
    prefix: &str,
    raw: &LocationPoint,
    now: DateTime<Utc>,
) -> Option<Checked> {
    let field = |name: &str| format!("{prefix}{name}");
    let required = |v: &mut Validator, name: &str, value: Option<f64>, bound: f64| match value {
        None => v.take::<f64>(Err(FieldError::new(field(name), "is required"))),
        Some(x) if !(-bound..=bound).contains(&x) => v.take::<f64>(Err(FieldError::new(
            field(name),
            format!("must be -{bound} to {bound}"),
        ))),
        Some(x) => Some(x),
    };
    let lat = required(v, "latitude", raw.latitude, 90.0);
    let lng = required(v, "longitude", raw.longitude, 180.0);
    let accuracy = in_range(v, &field("accuracy"), raw.accuracy, 0.0..=10_000.0);
    let speed = in_range(v, &field("speed"), raw.speed, 0.0..=MAX_PLAUSIBLE_SPEED_MPS);
    let heading = in_range(v, &field("heading"), raw.heading, 0.0..=360.0);
    let altitude = in_range(v, &field("altitude"), raw.altitude, -500.0..=10_000.0);
    let battery = in_range(v, &field("batteryLevel"), raw.battery_level, 0.0..=100.0);
    let activity = match &raw.activity_type {
        Some(a) if a.chars().count() > 32 => {
            v.take::<()>(Err(FieldError::new(
                field("activityType"),
                "at most 32 characters",
            )));
            None
        }
        other => Some(other.clone()),
    };
    let recorded_at = match raw.recorded_at.as_deref().map(DateTime::parse_from_rfc3339) {
        None => v.take::<DateTime<Utc>>(Err(FieldError::new(field("recordedAt"), "is required"))),
        Some(Err(_)) => v.take::<DateTime<Utc>>(Err(FieldError::new(
            field("recordedAt"),
            "must be an RFC 3339 time with its offset",
        ))),
        Some(Ok(at)) => {
            let at = at.with_timezone(&Utc);
            if at > now + CLOCK_SKEW {
                v.take::<DateTime<Utc>>(Err(FieldError::new(
                    field("recordedAt"),
                    "is in the future",
                )))
            } else if at < now - MAX_POINT_AGE {
                v.take::<DateTime<Utc>>(Err(FieldError::new(
                    field("recordedAt"),
                    "is more than a day old",
                )))
            } else {
                Some(at)
            }
        }
    };
    Some(Checked {
        index,
        point: Point {
            lat: lat?,
            lng: lng?,
        },
        accuracy: accuracy?,
        speed: speed?,
        // 360 is north as much as 0 is.
        heading: heading?.map(|h| h % 360.0),
        altitude: altitude?,
        battery: battery?.map(|b| b.round() as i16),
        is_moving: raw.is_moving,
        activity: activity?,
        recorded_at: recorded_at?,
    })
}

pub(super) fn check_report(report: &LocationReport, now: DateTime<Utc>) -> ApiResult<Vec<Checked>> {
    let (points, indexed, _) = report.parts();
    Validator::validate(|v| {
        if points.is_empty() || points.len() > MAX_BATCH {
            v.take::<()>(Err(FieldError::new(
                "locations",
                format!("send 1 to {MAX_BATCH} points"),
            )));
            return None;
        }
        let checked: Vec<Option<Checked>> = points
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                let prefix = if indexed {
                    format!("locations[{i}].")
                } else {
                    String::new()
                };
                check_point(v, i, &prefix, raw, now)
            })
            .collect();
        checked.into_iter().collect()
    })
}

fn meters_between(a: Point, b: Point) -> f64 {
    haversine_miles(a, b) * crate::geo::METERS_PER_MILE
}

/// Sorts the points by time, drops repeats of one instant, and leaves out each point
/// that implies an impossible speed from the last kept one (starting from `before`, the
/// driver's stored point just before the batch).
pub(super) fn plausible(
    mut points: Vec<Checked>,
    before: Option<(Point, DateTime<Utc>)>,
) -> (Vec<Checked>, usize, Vec<Rejected>) {
    points.sort_by_key(|c| (c.recorded_at, c.index));
    let mut kept: Vec<Checked> = Vec::with_capacity(points.len());
    let mut repeats = 0;
    let mut rejected = Vec::new();
    let mut last = before;
    for point in points {
        if kept
            .last()
            .is_some_and(|k| k.recorded_at == point.recorded_at)
        {
            repeats += 1;
            continue;
        }
        if let Some((at, when)) = last {
            let seconds = (point.recorded_at - when).num_milliseconds() as f64 / 1000.0;
            let meters = meters_between(at, point.point);
            if seconds > 0.0 && meters / seconds > MAX_PLAUSIBLE_SPEED_MPS {
                rejected.push(Rejected {
                    index: point.index,
                    reason: format!(
                        "{:.0} m in {seconds:.0} s from the point before is not a drive",
                        meters
                    ),
                });
                continue;
            }
        }
        last = Some((point.point, point.recorded_at));
        kept.push(point);
    }
    rejected.sort_by_key(|r| r.index);
    (kept, repeats, rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
    }

    fn point(index: usize, lat: f64, seconds: i64) -> Checked {
        Checked {
            index,
            point: Point { lat, lng: -122.0 },
            accuracy: None,
            speed: None,
            heading: None,
            altitude: None,
            battery: None,
            is_moving: None,
            activity: None,
            recorded_at: at(seconds),
        }
    }

    #[test]
    fn a_jump_is_left_out_and_the_track_goes_on_from_the_last_kept_point() {
        // 0.001° of latitude is about 111 m: 10 s apart is a drive, 0.1° (11 km) is not.
        let points = vec![
            point(0, 37.000, 0),
            point(1, 37.100, 10),
            point(2, 37.001, 20),
            point(3, 37.001, 20),
        ];
        let (kept, repeats, rejected) = plausible(points, None);
        assert_eq!(kept.iter().map(|c| c.index).collect::<Vec<_>>(), [0, 2]);
        assert_eq!(repeats, 1);
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].index, 1);
    }
}
