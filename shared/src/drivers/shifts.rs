//! Shifts (`/api/tracking/shifts/...`): a driver starts one (one open shift per driver,
//! a database constraint), reports locations during it, and ends it once no delivery of
//! theirs is open. Mileage comes from the recorded track, beside what the driver reports.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{lat_lng, own_driver, point_of, readable_driver, Coordinates};
use crate::{
    auth::rbac::Caller,
    db::{p, GenericClient, Row, RowExt},
    error::{ApiError, ApiResult, Context, FieldError},
    input::Validator,
    orders::status::DriverStatus,
    text_enum::text_enum,
    AppState,
};

/// Faster than this between two points (about 250 km/h) is a GPS jump, not driving: the
/// segment counts for no mileage, and ingest refuses such a point.
pub const MAX_PLAUSIBLE_SPEED_MPS: f64 = 70.0;

/// `{coordinates: {lat, lng}}`, as the driver app sends a shift's position.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct ShiftLocation {
    pub coordinates: Coordinates,
}

/// `POST /api/tracking/shifts/start` `{driverId?, location?}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartShift {
    pub driver_id: Option<Uuid>,
    pub location: Option<ShiftLocation>,
}

/// `POST /api/tracking/shifts/end` `{shiftId, location?, finalMileage?}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndShift {
    pub shift_id: Uuid,
    pub location: Option<ShiftLocation>,
    pub final_mileage: Option<f64>,
}

text_enum! {
    /// Where a shift stands.
    pub enum ShiftStatus("shift status") {
        Active = "active",
        Paused = "paused",
        Completed = "completed",
    }
}

impl ShiftStatus {
    /// Not yet ended (active or paused): a driver has at most one. SQL asks
    /// `shift_is_open(status)` (migration V19).
    pub fn is_open(self) -> bool {
        self != ShiftStatus::Completed
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Shift {
    pub id: Uuid,
    pub driver_id: Uuid,
    pub status: ShiftStatus,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    pub start_location: Option<Coordinates>,
    pub end_location: Option<Coordinates>,
    /// Miles along the recorded track, jumps left out (live while the shift is open).
    pub tracked_miles: f64,
    /// Miles the driver reported at the end.
    pub reported_miles: Option<f64>,
    pub delivery_count: i32,
    pub point_count: i64,
}

fn shift_select() -> String {
    format!(
        "SELECT s.id, s.driver_id, s.status, s.start_time, s.end_time, {}, {},
                s.total_distance_miles::float8 AS stored_miles, s.reported_miles::float8 AS reported_miles,
                s.delivery_count,
                (SELECT count(*) FROM driver_locations l
                  WHERE l.driver_id = s.driver_id AND l.shift_id = s.id
                    AND l.recorded_at >= s.start_time - interval '1 day') AS point_count
           FROM driver_shifts s",
        lat_lng("s.start_location", "start"),
        lat_lng("s.end_location", "end"),
    )
}

impl Shift {
    async fn from_row(client: &impl GenericClient, row: &Row) -> ApiResult<Self> {
        let id: Uuid = row.col("id")?;
        let status: ShiftStatus = row.col("status")?;
        let start_time: DateTime<Utc> = row.col("start_time")?;
        let tracked_miles = match status {
            ShiftStatus::Completed => row.col("stored_miles")?,
            _ => tracked_miles(client, row.col("driver_id")?, id, start_time).await?,
        };
        Ok(Self {
            id,
            driver_id: row.col("driver_id")?,
            status,
            start_time,
            end_time: row.col("end_time")?,
            start_location: point_of(row, "start")?,
            end_location: point_of(row, "end")?,
            tracked_miles,
            reported_miles: row.col("reported_miles")?,
            delivery_count: row.col("delivery_count")?,
            point_count: row.col("point_count")?,
        })
    }
}

/// Miles along a shift's recorded points in time order, leaving out segments faster than
/// [`MAX_PLAUSIBLE_SPEED_MPS`] (a jump and the way back both count for nothing).
pub async fn tracked_miles(
    client: &impl GenericClient,
    driver_id: Uuid,
    shift_id: Uuid,
    start_time: DateTime<Utc>,
) -> ApiResult<f64> {
    let row = client
        .query_typed_one(
            "WITH track AS (
                SELECT location, recorded_at,
                       lag(location) OVER w AS prev_location, lag(recorded_at) OVER w AS prev_at
                  FROM driver_locations
                 WHERE driver_id = $4 AND shift_id = $1
                   AND recorded_at >= $3::timestamptz - interval '1 day'
                WINDOW w AS (ORDER BY recorded_at)
             ), segments AS (
                SELECT ST_Distance(prev_location, location) AS meters,
                       extract(epoch FROM recorded_at - prev_at)::float8 AS seconds
                  FROM track WHERE prev_location IS NOT NULL
             )
             SELECT COALESCE(sum(meters) FILTER (WHERE meters <= $2 * seconds), 0)::float8 AS meters
               FROM segments",
            &[
                p(&shift_id),
                p(&MAX_PLAUSIBLE_SPEED_MPS),
                p(&start_time),
                p(&driver_id),
            ],
        )
        .await
        .context("measuring the shift's track")?;
    let meters: f64 = row.col("meters")?;
    Ok((meters / crate::geo::METERS_PER_MILE * 100.0).round() / 100.0)
}

async fn find(client: &impl GenericClient, condition: &str, id: Uuid) -> ApiResult<Option<Shift>> {
    let sql = format!("{} WHERE {condition}", shift_select());
    match client
        .query_typed_opt(&sql, &[p(&id)])
        .await
        .context("reading the shift")?
    {
        Some(row) => Ok(Some(Shift::from_row(client, &row).await?)),
        None => Ok(None),
    }
}

fn checked_location(
    v: &mut Validator,
    location: Option<ShiftLocation>,
) -> Option<Option<crate::geo::Point>> {
    match location {
        None => Some(None),
        Some(l) => v
            .take(l.coordinates.checked("location.coordinates"))
            .map(Some),
    }
}

/// Opens a shift for the caller's own driver record and puts the driver on duty.
pub async fn start(state: &AppState, caller: &Caller, req: &StartShift) -> ApiResult<Shift> {
    let location = Validator::validate(|v| checked_location(v, req.location))?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let driver_id = own_driver(&tx, caller, req.driver_id).await?;
    let active: bool = tx
        .query_typed_one(
            "SELECT is_active FROM drivers WHERE id = $1 FOR UPDATE",
            &[p(&driver_id)],
        )
        .await?
        .col("is_active")?;
    if !active {
        return Err(ApiError::conflict(
            "driver_inactive",
            "this driver is not active; ask dispatch to reactivate it",
        ));
    }
    let open = tx
        .query_typed_opt(
            "SELECT id FROM driver_shifts WHERE driver_id = $1 AND shift_is_open(status)",
            &[p(&driver_id)],
        )
        .await?;
    if let Some(open) = open {
        let shift_id: Uuid = open.col("id")?;
        return Err(ApiError::conflict(
            "shift_already_open",
            "this driver already has an open shift",
        )
        .with_details(serde_json::json!({ "shiftId": shift_id })));
    }
    let wkt = location.map(|point| point.wkt());
    let shift_id: Uuid = tx
        .query_typed_one(
            "INSERT INTO driver_shifts (driver_id, start_location) VALUES ($1, ST_GeogFromText($2))
             RETURNING id",
            &[p(&driver_id), p(&wkt)],
        )
        .await
        .context("opening the shift")?
        .col("id")?;
    tx.execute_typed(
        "UPDATE drivers SET is_on_duty = true,
                last_known_location = COALESCE(ST_GeogFromText($2), last_known_location),
                last_location_update = CASE WHEN $2::text IS NULL THEN last_location_update ELSE now() END
          WHERE id = $1",
        &[p(&driver_id), p(&wkt)],
    )
    .await
    .context("putting the driver on duty")?;
    let shift = find(&tx, "s.id = $1", shift_id)
        .await?
        .ok_or_else(|| ApiError::internal("the shift just opened is gone"))?;
    tx.commit().await?;
    tracing::info!(%driver_id, %shift_id, "shift started");
    Ok(shift)
}

/// Closes the caller's open shift (another's is 404) unless a delivery of theirs is still
/// open (409 with `activeDeliveries`), recording tracked and reported mileage.
pub async fn end(state: &AppState, caller: &Caller, req: &EndShift) -> ApiResult<Shift> {
    let (location, reported) = Validator::validate(|v| {
        let location = checked_location(v, req.location);
        let reported = match req.final_mileage {
            Some(miles) if !(0.0..=2000.0).contains(&miles) => {
                v.take::<()>(Err(FieldError::new(
                    "finalMileage",
                    "must be 0 to 2000 miles",
                )));
                None
            }
            miles => Some(miles),
        };
        Some((location?, reported?))
    })?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let driver_id = own_driver(&tx, caller, None).await?;
    let row = tx
        .query_typed_opt(
            "SELECT start_time FROM driver_shifts
              WHERE id = $1 AND driver_id = $2 AND shift_is_open(status) FOR UPDATE",
            &[p(&req.shift_id), p(&driver_id)],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("open shift"))?;
    let start_time: DateTime<Utc> = row.col("start_time")?;
    let open_sql = format!(
        "SELECT {} AS open FROM drivers d WHERE d.id = $1",
        super::roster::active_deliveries("d")
    );
    let open: i64 = tx
        .query_typed_one(&open_sql, &[p(&driver_id)])
        .await?
        .col("open")?;
    if open > 0 {
        return Err(ApiError::conflict(
            "deliveries_open",
            format!("{open} deliveries are still open; finish or hand them back first"),
        )
        .with_details(serde_json::json!({ "activeDeliveries": open })));
    }
    let miles = tracked_miles(&tx, driver_id, req.shift_id, start_time).await?;
    let wkt = location.map(|point| point.wkt());
    tx.execute_typed(
        "UPDATE driver_shifts SET status = $5, end_time = now(),
                end_location = ST_GeogFromText($2), total_distance_miles = round($3::numeric, 2),
                reported_miles = round($4::numeric, 2),
                delivery_count = (SELECT count(*) FROM deliveries d
                                   WHERE d.shift_id = $1 AND d.status = $6)
          WHERE id = $1",
        &[
            p(&req.shift_id),
            p(&wkt),
            p(&miles),
            p(&reported),
            p(&ShiftStatus::Completed),
            p(&DriverStatus::Completed),
        ],
    )
    .await
    .context("closing the shift")?;
    tx.execute_typed(
        "UPDATE drivers SET is_on_duty = false WHERE id = $1",
        &[p(&driver_id)],
    )
    .await?;
    let shift = find(&tx, "s.id = $1", req.shift_id)
        .await?
        .ok_or_else(|| ApiError::internal("the shift just closed is gone"))?;
    tx.commit().await?;
    tracing::info!(%driver_id, shift_id = %req.shift_id, miles, "shift ended");
    Ok(shift)
}

/// The open shift of a driver the caller may read (their own, or any for staff).
pub async fn active(
    client: &impl GenericClient,
    caller: &Caller,
    driver_id: Option<Uuid>,
) -> ApiResult<Option<Shift>> {
    let driver_id = readable_driver(client, caller, driver_id).await?;
    find(
        client,
        "s.driver_id = $1 AND shift_is_open(s.status)",
        driver_id,
    )
    .await
}

/// One shift, for its driver and staff; anyone else gets 404.
pub async fn by_id(
    client: &impl GenericClient,
    caller: &Caller,
    shift_id: Uuid,
) -> ApiResult<Shift> {
    let shift = find(client, "s.id = $1", shift_id)
        .await?
        .ok_or_else(|| ApiError::not_found("shift"))?;
    if super::may_read(client, caller, shift.driver_id).await? {
        Ok(shift)
    } else {
        Err(ApiError::not_found("shift"))
    }
}
