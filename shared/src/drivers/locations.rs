//! Location ingest (`POST /api/tracking/locations`) and the track's retention.
//!
//! A driver on shift posts one point or a batch of up to 100, only for itself. Each point
//! is checked (ranges; recorded within the last day and not in the future), points that
//! imply an impossible speed from the one before are left out (GPS jumps), and the rest
//! go in one multi-row insert that skips any (driver, recordedAt) already stored, so a
//! retried batch stores nothing twice. The newest point becomes the driver's position.
//!
//! `driver_locations` is partitioned by UTC day; the `location-retention` job creates the
//! coming days' partitions and drops whole days past `LOCATION_RETENTION_DAYS`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::{acting_as, shifts::MAX_PLAUSIBLE_SPEED_MPS};
use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, GenericClient, RowExt, Transaction},
    error::{ApiError, ApiResult, Context, FieldError},
    geo::{haversine_miles, Point},
    input::Validator,
    AppState,
};

pub const MAX_BATCH: usize = 100;
/// Points older than this are refused: the track is for live tracking and mileage.
pub const MAX_POINT_AGE: chrono::Duration = chrono::Duration::days(1);
/// Device clocks run a little ahead; more than this is a point from the future.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(2);
const METERS_PER_MILE: f64 = 1609.344;
/// Partitions made ahead of today, so ingest never waits on one.
const DAYS_AHEAD: i64 = 7;

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
    fn parts(&self) -> (&[LocationPoint], bool, Option<Uuid>) {
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
struct Checked {
    index: usize,
    point: Point,
    accuracy: Option<f64>,
    speed: Option<f64>,
    heading: Option<f64>,
    altitude: Option<f64>,
    battery: Option<i16>,
    is_moving: Option<bool>,
    activity: Option<String>,
    recorded_at: DateTime<Utc>,
}

/// A point left out, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rejected {
    pub index: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Ingested {
    pub success: bool,
    pub shift_id: Uuid,
    /// Points stored by this request.
    pub accepted: usize,
    /// Points already stored (a retried batch), or repeated within the batch.
    pub duplicates: usize,
    /// Points left out as GPS jumps.
    pub rejected: Vec<Rejected>,
    /// Deliveries this report arrived at (within 150 m of their next stop).
    pub arrivals: Vec<super::progress::Arrival>,
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

fn check_report(report: &LocationReport, now: DateTime<Utc>) -> ApiResult<Vec<Checked>> {
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
    haversine_miles(a, b) * METERS_PER_MILE
}

/// Sorts the points by time, drops repeats of one instant, and leaves out each point
/// that implies an impossible speed from the last kept one (starting from `before`, the
/// driver's stored point just before the batch).
fn plausible(
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

/// Who is reporting, in one round trip: the caller's driver record, its open shift, and
/// its stored point just before `$2` (the report's first) within the accepted age.
const REPORTER: &str = "SELECT d.id AS driver_id, s.id AS shift_id, b.recorded_at,
        ST_Y(b.location::geometry) AS lat, ST_X(b.location::geometry) AS lng
   FROM drivers d
   LEFT JOIN driver_shifts s ON s.driver_id = d.id AND shift_is_open(s.status)
   LEFT JOIN LATERAL (
        SELECT location, recorded_at FROM driver_locations
         WHERE driver_id = d.id AND recorded_at < $2 AND recorded_at >= $2 - interval '1 day'
         ORDER BY recorded_at DESC LIMIT 1) b ON true
  WHERE d.user_id = $1 AND d.deleted_at IS NULL";

/// The reporting driver, its open shift, and its last point before the report.
struct Reporter {
    driver_id: Uuid,
    shift_id: Uuid,
    before: Option<(Point, DateTime<Utc>)>,
}

async fn reporter(
    tx: &Transaction<'_>,
    caller: &Caller,
    claimed: Option<Uuid>,
    first: DateTime<Utc>,
) -> ApiResult<Reporter> {
    caller.require(Permission::Drive)?;
    let row = tx
        .query_typed_opt(REPORTER, &[p(&caller.user_id), p(&first)])
        .await
        .context("finding the reporting driver")?;
    let row = row.as_ref();
    let driver_id = acting_as(row.map(|r| r.col("driver_id")).transpose()?, claimed)?;
    let shift_id: Option<Uuid> = row.map(|r| r.col("shift_id")).transpose()?.flatten();
    let shift_id = shift_id.ok_or_else(|| {
        ApiError::conflict("no_open_shift", "start a shift before reporting locations")
    })?;
    let before = match row {
        Some(r) => match r.col::<Option<DateTime<Utc>>>("recorded_at")? {
            Some(at) => Some((
                Point {
                    lat: r.col("lat")?,
                    lng: r.col("lng")?,
                },
                at,
            )),
            None => None,
        },
        None => None,
    };
    Ok(Reporter {
        driver_id,
        shift_id,
        before,
    })
}

/// The points in one statement, skipping any (driver, recordedAt) already stored, and the
/// newest of them as the driver's position unless a newer one is held: `stored` counts
/// the new rows.
const STORE_POINTS: &str = "WITH stored AS (
        INSERT INTO driver_locations
            (driver_id, shift_id, location, accuracy_m, speed_mps, heading_deg, altitude_m,
             battery_level, is_moving, activity_type, recorded_at)
        SELECT $1, $2, ST_SetSRID(ST_MakePoint(u.lng, u.lat), 4326)::geography, u.accuracy,
               u.speed, u.heading, u.altitude, u.battery, u.moving, u.activity, u.at
          FROM unnest($3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[],
                      $8::float8[], $9::int2[], $10::bool[], $11::text[], $12::timestamptz[])
               AS u(lat, lng, accuracy, speed, heading, altitude, battery, moving, activity, at)
        ON CONFLICT (driver_id, recorded_at) DO NOTHING
        RETURNING 1),
     moved AS (
        UPDATE drivers SET last_known_location = ST_GeogFromText($13), last_location_update = $14
         WHERE id = $1 AND (last_location_update IS NULL OR last_location_update < $14))
     SELECT count(*) AS stored FROM stored";

/// Stores the points (sorted by time, so the last is the newest) and moves the driver;
/// returns how many points were new.
async fn store_points(
    tx: &Transaction<'_>,
    driver_id: Uuid,
    shift_id: Uuid,
    points: &[Checked],
) -> Result<Option<i64>, tokio_postgres::Error> {
    let Some(newest) = points.last() else {
        return Ok(None);
    };
    let column = |f: fn(&Checked) -> Option<f64>| points.iter().map(f).collect::<Vec<_>>();
    let lat: Vec<f64> = points.iter().map(|c| c.point.lat).collect();
    let lng: Vec<f64> = points.iter().map(|c| c.point.lng).collect();
    let accuracy = column(|c| c.accuracy);
    let speed = column(|c| c.speed);
    let heading = column(|c| c.heading);
    let altitude = column(|c| c.altitude);
    let battery: Vec<Option<i16>> = points.iter().map(|c| c.battery).collect();
    let moving: Vec<Option<bool>> = points.iter().map(|c| c.is_moving).collect();
    let activity: Vec<Option<String>> = points.iter().map(|c| c.activity.clone()).collect();
    let at: Vec<DateTime<Utc>> = points.iter().map(|c| c.recorded_at).collect();
    let row = tx
        .query_typed_one(
            STORE_POINTS,
            &[
                p(&driver_id),
                p(&shift_id),
                p(&lat),
                p(&lng),
                p(&accuracy),
                p(&speed),
                p(&heading),
                p(&altitude),
                p(&battery),
                p(&moving),
                p(&activity),
                p(&at),
                p(&newest.point.wkt()),
                p(&newest.recorded_at),
            ],
        )
        .await?;
    Ok(Some(row.try_get("stored")?))
}

/// Whether an insert failed only because a day's partition does not exist yet.
fn is_missing_partition(err: &tokio_postgres::Error) -> bool {
    err.code() == Some(&SqlState::CHECK_VIOLATION)
        && err
            .as_db_error()
            .is_some_and(|e| e.message().starts_with("no partition of relation"))
}

/// Creates the daily partitions from `from` to `to` that are missing; how many it made.
pub async fn ensure_partitions(
    client: &impl GenericClient,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<i32> {
    client
        .query_typed_one(
            "SELECT driver_locations_ensure_partitions($1, $2) AS created",
            &[p(&from), p(&to)],
        )
        .await
        .context("creating location partitions")?
        .col("created")
}

/// One attempt at recording a report.
enum Attempt {
    Recorded(Ingested),
    /// The days from..to need their partitions first (nothing was written).
    NoPartition(NaiveDate, NaiveDate),
}

#[tracing::instrument(name = "ingest_locations", skip_all)]
pub async fn ingest(
    state: &AppState,
    caller: &Caller,
    report: &LocationReport,
) -> ApiResult<Ingested> {
    let now = Utc::now();
    let checked = check_report(report, now)?;
    let (_, _, claimed) = report.parts();
    let mut client = state.db.get().await?;
    match record(&mut client, caller, claimed, checked.clone()).await? {
        Attempt::Recorded(ingested) => Ok(ingested),
        // The retention job keeps a week of partitions ahead; only a report after it has
        // not run for that long gets here, and waits for the partition once.
        Attempt::NoPartition(from, to) => {
            ensure_partitions(&*client, from, to).await?;
            match record(&mut client, caller, claimed, checked).await? {
                Attempt::Recorded(ingested) => Ok(ingested),
                Attempt::NoPartition(..) => Err(ApiError::internal(
                    "a location partition is missing after it was created",
                )),
            }
        }
    }
}

/// Records a checked report in one transaction: the reporter, the plausible points, the
/// driver's position, and the arrivals they make.
async fn record(
    client: &mut crate::db::DbClient,
    caller: &Caller,
    claimed: Option<Uuid>,
    checked: Vec<Checked>,
) -> ApiResult<Attempt> {
    let tx = client.transaction().await?;
    let first = checked
        .iter()
        .map(|c| c.recorded_at)
        .min()
        .unwrap_or_else(Utc::now);
    let last = checked
        .iter()
        .map(|c| c.recorded_at)
        .max()
        .unwrap_or_else(Utc::now);
    let reporter = reporter(&tx, caller, claimed, first).await?;
    let (points, repeats, rejected) = plausible(checked, reporter.before);
    let stored = match store_points(&tx, reporter.driver_id, reporter.shift_id, &points).await {
        Ok(stored) => stored.unwrap_or(0),
        Err(err) if is_missing_partition(&err) => {
            return Ok(Attempt::NoPartition(first.date_naive(), last.date_naive()))
        }
        Err(err) => return Err(ApiError::from(err).doing("storing the points")),
    };
    let mut arrivals = Vec::new();
    if let Some(newest) = points.last() {
        arrivals =
            super::progress::detect_arrivals(&tx, caller, reporter.driver_id, newest.point).await?;
    }
    tx.commit().await?;
    let accepted = stored as usize;
    Ok(Attempt::Recorded(Ingested {
        success: true,
        shift_id: reporter.shift_id,
        accepted,
        duplicates: repeats + (points.len() - accepted),
        rejected,
        arrivals,
    }))
}

/// What a retention run did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RetentionReport {
    pub created: i32,
    pub dropped: Vec<String>,
    pub kept: usize,
}

/// The day a partition holds, from its name (`driver_locations_YYYYMMDD`).
fn partition_day(name: &str) -> Option<NaiveDate> {
    let digits = name.strip_prefix("driver_locations_")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(digits, "%Y%m%d").ok()
}

/// Creates the partitions of the coming days and drops the days older than the retention.
pub async fn retain(state: &AppState, now: DateTime<Utc>) -> ApiResult<RetentionReport> {
    let client = state.db.get().await?;
    let today = now.date_naive();
    let created = ensure_partitions(
        &*client,
        today - chrono::Duration::days(1),
        today + chrono::Duration::days(DAYS_AHEAD),
    )
    .await?;
    let oldest_kept = (now - state.config.drivers.location_retention).date_naive();
    let rows = client
        .query_typed(
            "SELECT c.relname::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'driver_locations'::regclass ORDER BY 1",
            &[],
        )
        .await
        .context("listing location partitions")?;
    let mut dropped = Vec::new();
    let mut kept = 0;
    for row in rows {
        let name: String = row.col("name")?;
        match partition_day(&name) {
            Some(day) if day < oldest_kept => {
                // The name was matched digit by digit above: safe to interpolate.
                client
                    .batch_execute(&format!("DROP TABLE {name}"))
                    .await
                    .context("dropping an expired location partition")?;
                tracing::info!(partition = %name, %day, "dropped expired locations");
                dropped.push(name);
            }
            _ => kept += 1,
        }
    }
    Ok(RetentionReport {
        created,
        dropped,
        kept,
    })
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

    #[test]
    fn partition_names_are_read_strictly() {
        assert_eq!(
            partition_day("driver_locations_20261202"),
            NaiveDate::from_ymd_opt(2026, 12, 2)
        );
        assert_eq!(partition_day("driver_locations_2026120"), None);
        assert_eq!(partition_day("driver_locations_2026120x"), None);
        assert_eq!(partition_day("other_20261202"), None);
    }
}
