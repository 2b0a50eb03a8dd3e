//! Location ingest (`POST /api/tracking/locations`) and the track's retention.
//!
//! A driver on shift posts one point or a batch of up to 100, only for itself. Each point
//! is checked (ranges; recorded within the last day and not in the future), points that
//! imply an impossible speed from the one before are left out (GPS jumps), and the rest
//! go in one multi-row insert that skips any (driver, recordedAt) already stored, so a
//! retried batch stores nothing twice. The newest point becomes the driver's position,
//! times the driver's open deliveries ([`super::eta`]) in the same statement, and moves
//! a delivery whose stop it is at to its arrival.
//!
//! `driver_locations` is partitioned by UTC day; the `location-retention` job creates the
//! coming days' partitions and drops whole days past `LOCATION_RETENTION_DAYS`.
//!
//! The points are checked in [`check`]; the days' partitions are kept in [`retention`].

pub mod check;
pub mod retention;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::{
    acting_as,
    arrivals::{open_stops, record_arrivals, Arrival, OpenStop},
    delays,
    eta::{self, Timed},
};
use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, GenericClient, RowExt, Transaction},
    error::{ApiError, ApiResult, Context},
    geo::Point,
    AppState,
};
use check::{check_report, plausible, Checked, Rejected};

pub use check::{LocationPoint, LocationReport, MAX_BATCH, MAX_POINT_AGE};
pub use retention::{retain, RetentionReport};

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
    /// Deliveries this report arrived at (settled at their next stop).
    pub arrivals: Vec<Arrival>,
}

/// Who is reporting, in one round trip: the caller's driver record, its open shift, the
/// time of its newest stored point, and its stored point just before `$2` (the report's
/// first) within the accepted age.
const REPORTER: &str =
    "SELECT d.id AS driver_id, s.id AS shift_id, d.last_location_update, b.recorded_at,
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
    /// When its newest stored point was recorded.
    latest: Option<DateTime<Utc>>,
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
    let latest = row
        .map(|r| r.col::<Option<DateTime<Utc>>>("last_location_update"))
        .transpose()?
        .flatten();
    Ok(Reporter {
        driver_id,
        shift_id,
        latest,
        before,
    })
}

/// The points in one statement, skipping any (driver, recordedAt) already stored, and the
/// newest of them as the driver's position and the open deliveries' times unless a newer
/// point is held: `stored` counts the new rows.
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
     newer AS (
        SELECT 1 FROM drivers
         WHERE id = $1 AND (last_location_update IS NULL OR last_location_update < $14)),
     moved AS (
        UPDATE drivers SET last_known_location = ST_GeogFromText($13), last_location_update = $14
         WHERE id = $1 AND EXISTS (SELECT 1 FROM newer)),
     timed AS (
        UPDATE deliveries d SET eta_pickup = e.pickup, eta_dropoff = e.dropoff,
               eta_computed_at = now(), eta_source = $18
          FROM unnest($15::uuid[], $16::timestamptz[], $17::timestamptz[]) AS e(id, pickup, dropoff)
         WHERE d.id = e.id AND EXISTS (SELECT 1 FROM newer))
     SELECT count(*) AS stored FROM stored";

/// Stores the points (sorted by time, so the last is the newest), moves the driver and
/// times its deliveries; returns how many points were new.
async fn store_points(
    tx: &Transaction<'_>,
    driver_id: Uuid,
    shift_id: Uuid,
    points: &[Checked],
    timed: &Timed,
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
                p(&timed.delivery_ids),
                p(&timed.pickups),
                p(&timed.dropoffs),
                p(&Timed::source()),
            ],
        )
        .await?;
    Ok(Some(row.try_get("stored")?))
}

/// Each open delivery's times from the newest point, at its status.
fn time_stops(stops: &[OpenStop], newest: Option<&Checked>, now: DateTime<Utc>) -> Timed {
    let mut timed = Timed::default();
    let Some(newest) = newest else {
        return timed;
    };
    for stop in stops {
        if let (Some(status), Some(pickup), Some(dropoff)) =
            (stop.driver_status, stop.pickup, stop.dropoff)
        {
            timed.push(
                stop.delivery_id,
                eta::estimate(status, newest.point, pickup, dropoff, now),
            );
        }
    }
    timed
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
    let threshold = state.config.drivers.delay_threshold;
    match record(&mut client, caller, claimed, checked.clone(), threshold).await? {
        Attempt::Recorded(ingested) => Ok(ingested),
        // The retention job keeps a week of partitions ahead; only a report after it has
        // not run for that long gets here, and waits for the partition once.
        Attempt::NoPartition(from, to) => {
            ensure_partitions(&*client, from, to).await?;
            match record(&mut client, caller, claimed, checked, threshold).await? {
                Attempt::Recorded(ingested) => Ok(ingested),
                Attempt::NoPartition(..) => Err(ApiError::internal(
                    "a location partition is missing after it was created",
                )),
            }
        }
    }
}

/// Records a checked report in one transaction: the reporter, the plausible points, the
/// driver's position and deliveries' times, the delays the times predict, and the
/// arrivals the points make.
async fn record(
    client: &mut crate::db::DbClient,
    caller: &Caller,
    claimed: Option<Uuid>,
    checked: Vec<Checked>,
    delay_threshold: chrono::Duration,
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
    // Where the driver is now, if this report says so (a late batch of older points does
    // not): at a stop (an arrival), and how far from each stop left.
    let newest = points.last().filter(|newest| {
        reporter
            .latest
            .is_none_or(|latest| newest.recorded_at > latest)
    });
    let stops = match newest {
        Some(newest) => open_stops(&tx, reporter.driver_id, newest.point).await?,
        None => Vec::new(),
    };
    let timed = time_stops(&stops, newest, Utc::now());
    let stored =
        match store_points(&tx, reporter.driver_id, reporter.shift_id, &points, &timed).await {
            Ok(stored) => stored.unwrap_or(0),
            Err(err) if is_missing_partition(&err) => {
                return Ok(Attempt::NoPartition(first.date_naive(), last.date_naive()))
            }
            Err(err) => return Err(ApiError::from(err).doing("storing the points")),
        };
    delays::record(&tx, &delays::changes(&stops, &timed, delay_threshold)).await?;
    if let Some(newest) = newest {
        eta::announce(&tx, &stops, &timed, newest.point, Utc::now()).await?;
    }
    let mut arrivals = Vec::new();
    if let Some(newest) = newest {
        arrivals =
            record_arrivals(&tx, caller, reporter.driver_id, newest.recorded_at, &stops).await?;
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
