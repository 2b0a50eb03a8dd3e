//! Drivers: their records, shifts, tracks, and the search for the nearest one.
//!
//! - this module: the driver record every DRIVER account has, and finding the caller's.
//! - [`availability`]: the windows drivers plan to work, route planning's vehicles.
//! - [`shifts`]: starting and ending shifts, and their mileage from the recorded track.
//! - [`locations`]: location ingest (checked, deduplicated, one insert) and the retention
//!   of the day-partitioned track.
//! - [`roster`]: the staff list of drivers and the nearest available ones to a point.
//! - [`dispatch`]: assigning drivers to orders (or taking them off), and a driver's
//!   assignments.
//! - [`offers`]: orders offered to drivers, as records, and the history note and
//!   `driver.offer` event each change leaves (auto-dispatch decides the offers).
//! - [`progress`]: driver status reports.
//! - [`arrivals`]: the arrivals location reports imply, without drive-bys or GPS jumps.
//! - [`eta`]: each open delivery's expected times, kept current by location reports.
//! - [`delays`]: deliveries predicted to miss their window, and back on time.
//! - [`tracking`]: following a delivery: the driver's position, ETA, public links.
//! - [`deliveries`]: each driver's run of an order, as drivers and staff list them.
//! - [`stats`]: a driver's figures and its paid deliveries (pay itself: [`crate::pay`]).

pub mod arrivals;
pub mod availability;
pub mod delays;
pub mod deliveries;
pub mod dispatch;
pub mod eta;
pub mod failed_attempts;
pub mod locations;
pub mod offers;
pub mod progress;
pub mod roster;
pub mod shifts;
pub mod stats;
pub mod tracking;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, GenericClient, Row, RowExt},
    error::{ApiError, ApiResult},
    geo::Point,
};

/// Gives an account its driver record (active, off duty), or keeps the one it has; a
/// phone number fills a record without one. Returns the driver id.
pub async fn enrol(
    client: &impl GenericClient,
    user_id: Uuid,
    phone: Option<&str>,
) -> ApiResult<Uuid> {
    client
        .query_typed_one(
            "INSERT INTO drivers (user_id, phone, is_active, is_on_duty) VALUES ($1, $2, true, false)
             ON CONFLICT (user_id) DO UPDATE SET phone = COALESCE(drivers.phone, EXCLUDED.phone)
             RETURNING id",
            &[p(&user_id), p(&phone)],
        )
        .await?
        .col("id")
}

/// The driver record of a signed-in account, if it has one.
pub async fn driver_id_of(client: &impl GenericClient, user_id: Uuid) -> ApiResult<Option<Uuid>> {
    client
        .query_typed_opt(
            "SELECT id FROM drivers WHERE user_id = $1 AND deleted_at IS NULL",
            &[p(&user_id)],
        )
        .await?
        .map(|row| row.col("id"))
        .transpose()
}

/// The caller's own driver id, for the routes drivers use about themselves: 403 for
/// callers who do not drive. A `claimed` driver id in the request must be their own (a
/// driver acts only for itself).
pub async fn own_driver(
    client: &impl GenericClient,
    caller: &Caller,
    claimed: Option<Uuid>,
) -> ApiResult<Uuid> {
    caller.require(Permission::Drive)?;
    acting_as(driver_id_of(client, caller.user_id).await?, claimed)
}

/// The rule of [`own_driver`] once the caller's driver record is read (`own`): 403 without
/// one, 403 for a `claimed` driver that is not it.
fn acting_as(own: Option<Uuid>, claimed: Option<Uuid>) -> ApiResult<Uuid> {
    let own = own.ok_or_else(|| ApiError::forbidden("this account has no driver record"))?;
    match claimed {
        Some(claimed) if claimed != own => {
            Err(ApiError::forbidden("a driver acts only for itself"))
        }
        _ => Ok(own),
    }
}

/// Which driver a read is about: staff name any driver (`driverId` required); a driver
/// reads only itself (its own id, or none). Others, and another driver's id, are 404.
pub async fn readable_driver(
    client: &impl GenericClient,
    caller: &Caller,
    requested: Option<Uuid>,
) -> ApiResult<Uuid> {
    if caller.can(Permission::ViewDrivers) {
        return named_driver(client, requested).await;
    }
    let own = match caller.can(Permission::Drive) {
        true => driver_id_of(client, caller.user_id).await?,
        false => None,
    };
    match (own, requested) {
        (Some(own), None) => Ok(own),
        (Some(own), Some(requested)) if requested == own => Ok(own),
        _ => Err(ApiError::not_found("driver")),
    }
}

/// The driver staff name (`driverId`, required: 400 without it), if it exists (404).
pub(crate) async fn named_driver(
    client: &impl GenericClient,
    requested: Option<Uuid>,
) -> ApiResult<Uuid> {
    let id = requested.ok_or_else(|| {
        ApiError::validation(vec![crate::error::FieldError::new(
            "driverId",
            "is required",
        )])
    })?;
    let exists = client
        .query_typed_opt(
            "SELECT 1 FROM drivers WHERE id = $1 AND deleted_at IS NULL",
            &[p(&id)],
        )
        .await?
        .is_some();
    if exists {
        Ok(id)
    } else {
        Err(ApiError::not_found("driver"))
    }
}

/// `{lat, lng}` as the driver app sends a position.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq)]
pub struct Coordinates {
    pub lat: f64,
    pub lng: f64,
}

impl Coordinates {
    /// The point, when both values are in range.
    pub fn checked(self, field: &str) -> Result<Point, crate::error::FieldError> {
        if (-90.0..=90.0).contains(&self.lat) && (-180.0..=180.0).contains(&self.lng) {
            Ok(Point {
                lat: self.lat,
                lng: self.lng,
            })
        } else {
            Err(crate::error::FieldError::new(
                field,
                "lat must be -90 to 90 and lng -180 to 180",
            ))
        }
    }
}

pub(crate) use crate::geo::lat_lng_sql as lat_lng;

/// The point selected with [`lat_lng`], if any, as the driver app writes positions.
pub(crate) fn point_of(row: &Row, prefix: &str) -> ApiResult<Option<Coordinates>> {
    Ok(crate::geo::point_at(row, prefix)?.map(|p| Coordinates {
        lat: p.lat,
        lng: p.lng,
    }))
}

/// Whether the caller may read what belongs to `driver_id`: staff, or the driver itself.
pub(crate) async fn may_read(
    client: &impl GenericClient,
    caller: &Caller,
    driver_id: Uuid,
) -> ApiResult<bool> {
    if caller.can(Permission::ViewDrivers) {
        return Ok(true);
    }
    Ok(driver_id_of(client, caller.user_id).await? == Some(driver_id))
}

/// When a driver last reported where it was.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LastLocation {
    pub lat: f64,
    pub lng: f64,
    pub at: DateTime<Utc>,
}

impl LastLocation {
    /// The point and time in `<name>_lat`, `<name>_lng` and `<name>_location_update`; none
    /// unless all three are there.
    pub(crate) fn read(row: &Row, name: &str) -> ApiResult<Option<Self>> {
        Ok(
            match (
                row.col::<Option<f64>>(&format!("{name}_lat"))?,
                row.col::<Option<f64>>(&format!("{name}_lng"))?,
                row.col::<Option<DateTime<Utc>>>(&format!("{name}_location_update"))?,
            ) {
                (Some(lat), Some(lng), Some(at)) => Some(Self { lat, lng, at }),
                _ => None,
            },
        )
    }
}
