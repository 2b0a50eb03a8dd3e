//! Driver availability: the windows a driver plans to work, by day, each with its start
//! and end place and its vehicle. Route planning reads them as its vehicles; live shifts
//! ([`super::shifts`]) say who is working now and are not planning input.
//!
//! - `GET /api/drivers/availability?date=&driverId=` lists a day's windows (staff: every
//!   driver's, or one's; a driver: its own).
//! - `POST /api/drivers/availability`, `PUT .../{windowId}`, `DELETE .../{windowId}`: the
//!   driver for itself, or staff who dispatch for any driver.
//!
//! A window ends after it starts, lasts at most [`MAX_WINDOW_HOURS`], never overlaps
//! another of the same driver (an exclusion constraint, so concurrent writers cannot
//! both win), and has places the map knows (geocoded like any address). A window that
//! has ended is history: it is neither written nor removed. Staff changes are audited.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::own_driver;
use crate::{
    addresses::{self, AddressInput},
    audit::{self, Entity},
    auth::{rbac::Caller, Permission},
    db::{p, FromRow, GenericClient, OnConstraint, RowExt, Transaction},
    error::{ApiError, ApiResult, FieldError},
    geo::Point,
    input::{Cursor, Page, PageRequest, Validator},
    orders::rules::VehicleType,
    AppState,
};

/// The longest planned window: a working day with its overtime, as the issue's
/// dispatchers plan them. The database checks the same.
pub const MAX_WINDOW_HOURS: i64 = 16;

/// Where a window starts or ends: an address the caller may use, or a new one, which is
/// geocoded and stored like any address.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlaceInput {
    pub address_id: Option<Uuid>,
    pub address: Option<AddressInput>,
}

/// `POST /api/drivers/availability` and `PUT /api/drivers/availability/{windowId}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WindowInput {
    /// Staff name the driver; a driver may leave it out (or name itself).
    pub driver_id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub start_place: PlaceInput,
    /// Where the driver ends the day; the start place when left out.
    pub end_place: Option<PlaceInput>,
    /// The vehicle driven in this window; the driver record's vehicle when left out.
    pub vehicle_type: Option<VehicleType>,
}

/// A place as a window shows it.
#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct WindowPlace {
    pub address_id: Uuid,
    pub street1: String,
    pub city: String,
    pub state: String,
    pub zip: Option<String>,
    pub lat: f64,
    pub lng: f64,
}

impl WindowPlace {
    pub fn point(&self) -> Point {
        Point {
            lat: self.lat,
            lng: self.lng,
        }
    }
}

/// One planned working window.
#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    pub id: Uuid,
    pub driver_id: Uuid,
    pub driver_name: Option<String>,
    /// The business day (Pacific time) the window starts on.
    pub date: NaiveDate,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub vehicle_type: VehicleType,
    #[row(flatten, prefix = "start_")]
    pub start_place: WindowPlace,
    #[row(flatten, prefix = "end_")]
    pub end_place: WindowPlace,
    pub updated_at: DateTime<Utc>,
}

/// Selects [`Window`] from `driver_availability w`; callers add WHERE and ORDER BY.
const WINDOW_SELECT: &str = "
    SELECT w.id, w.driver_id, u.name AS driver_name, w.service_date AS date, w.starts_at,
           w.ends_at, w.vehicle_type, w.updated_at,
           sa.id AS start_address_id, sa.street1 AS start_street1, sa.city AS start_city,
           sa.state AS start_state, sa.zip AS start_zip,
           ST_Y(sa.location::geometry) AS start_lat, ST_X(sa.location::geometry) AS start_lng,
           ea.id AS end_address_id, ea.street1 AS end_street1, ea.city AS end_city,
           ea.state AS end_state, ea.zip AS end_zip,
           ST_Y(ea.location::geometry) AS end_lat, ST_X(ea.location::geometry) AS end_lng
      FROM driver_availability w
      JOIN drivers d ON d.id = w.driver_id
      JOIN users u ON u.id = d.user_id
      JOIN addresses sa ON sa.id = w.start_address_id
      JOIN addresses ea ON ea.id = w.end_address_id";

/// A day's windows, oldest start first, a page at a time: every driver's for staff (or
/// the one named), the caller's own for a driver. Another driver's id is a 404 to a
/// driver, as on every driver read.
pub async fn list(
    client: &impl GenericClient,
    caller: &Caller,
    date: NaiveDate,
    driver_id: Option<Uuid>,
    page: &PageRequest,
) -> ApiResult<Page<Window>> {
    caller.require(Permission::PlanAvailability)?;
    let driver_id = match (caller.can(Permission::ViewDrivers), driver_id) {
        (true, None) => None,
        _ => Some(super::readable_driver(client, caller, driver_id).await?),
    };
    let (after_at, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    let rows = client
        .query_typed(
            &format!(
                "{WINDOW_SELECT}
                  WHERE w.service_date = $1 AND ($2::uuid IS NULL OR w.driver_id = $2)
                    AND ($3::timestamptz IS NULL OR (w.starts_at, w.id) > ($3, $4::uuid))
                  ORDER BY w.starts_at, w.id
                  LIMIT $5"
            ),
            &[
                p(&date),
                p(&driver_id),
                p(&after_at),
                p(&after_id),
                p(&page.fetch_limit()),
            ],
        )
        .await?;
    Ok(Page::from_rows(Window::from_rows(&rows)?, page, |w| {
        Cursor {
            at: w.starts_at,
            id: w.id,
        }
    }))
}

/// The windows of days `from..=to` (the planner's vehicles), of active drivers only,
/// optionally only those of `drivers`.
pub async fn for_planning(
    client: &impl GenericClient,
    from: NaiveDate,
    to: NaiveDate,
    drivers: Option<&[Uuid]>,
) -> ApiResult<Vec<Window>> {
    let drivers = drivers.map(<[Uuid]>::to_vec);
    let rows = client
        .query_typed(
            &format!(
                "{WINDOW_SELECT}
                  WHERE w.service_date BETWEEN $1 AND $2
                    AND ($3::uuid[] IS NULL OR w.driver_id = ANY($3))
                    AND d.is_active AND d.deleted_at IS NULL AND u.deleted_at IS NULL
                  ORDER BY w.driver_id, w.starts_at"
            ),
            &[p(&from), p(&to), p(&drivers)],
        )
        .await?;
    Window::from_rows(&rows)
}

/// Adds a window.
pub async fn create(state: &AppState, caller: &Caller, input: &WindowInput) -> ApiResult<Window> {
    caller.require(Permission::PlanAvailability)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let driver_id = writable_driver(&tx, caller, input.driver_id).await?;
    let checked = check(state, &tx, caller, driver_id, input).await?;
    let id: Uuid = tx
        .query_typed_one(
            "INSERT INTO driver_availability (driver_id, starts_at, ends_at, start_address_id,
                 end_address_id, vehicle_type, created_by, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
             RETURNING id",
            &[
                p(&driver_id),
                p(&input.starts_at),
                p(&input.ends_at),
                p(&checked.start_address),
                p(&checked.end_address),
                p(&checked.vehicle),
                p(&caller.user_id),
            ],
        )
        .await
        .on_constraint("driver_availability_no_overlap", overlap)?
        .col("id")?;
    let window = read(&tx, id).await?;
    audit_staff_change(&tx, caller, id, "CREATE", None, Some(&window)).await?;
    tx.commit().await?;
    tracing::info!(window_id = %id, driver_id = %driver_id, by = %caller.user_id, "availability added");
    Ok(window)
}

/// Replaces a window that has not ended (its driver stays its driver).
pub async fn replace(
    state: &AppState,
    caller: &Caller,
    window_id: Uuid,
    input: &WindowInput,
) -> ApiResult<Window> {
    caller.require(Permission::PlanAvailability)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let before = writable_window(&tx, caller, window_id).await?;
    if input.driver_id.is_some_and(|d| d != before.driver_id) {
        return Err(ApiError::validation(vec![FieldError::new(
            "driverId",
            "a window stays with its driver; remove it and add one for the other driver",
        )]));
    }
    let checked = check(state, &tx, caller, before.driver_id, input).await?;
    tx.execute_typed(
        "UPDATE driver_availability
            SET starts_at = $2, ends_at = $3, start_address_id = $4, end_address_id = $5,
                vehicle_type = $6, updated_by = $7
          WHERE id = $1",
        &[
            p(&window_id),
            p(&input.starts_at),
            p(&input.ends_at),
            p(&checked.start_address),
            p(&checked.end_address),
            p(&checked.vehicle),
            p(&caller.user_id),
        ],
    )
    .await
    .on_constraint("driver_availability_no_overlap", overlap)?;
    let after = read(&tx, window_id).await?;
    audit_staff_change(
        &tx,
        caller,
        window_id,
        "UPDATE",
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(window_id = %window_id, by = %caller.user_id, "availability changed");
    Ok(after)
}

/// Removes a window that has not ended.
pub async fn remove(state: &AppState, caller: &Caller, window_id: Uuid) -> ApiResult<()> {
    caller.require(Permission::PlanAvailability)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let before = writable_window(&tx, caller, window_id).await?;
    tx.execute_typed(
        "DELETE FROM driver_availability WHERE id = $1",
        &[p(&window_id)],
    )
    .await?;
    audit_staff_change(&tx, caller, window_id, "DELETE", Some(&before), None).await?;
    tx.commit().await?;
    tracing::info!(window_id = %window_id, by = %caller.user_id, "availability removed");
    Ok(())
}

async fn read(client: &impl GenericClient, id: Uuid) -> ApiResult<Window> {
    let row = client
        .query_typed_one(&format!("{WINDOW_SELECT} WHERE w.id = $1"), &[p(&id)])
        .await?;
    Window::from_row(&row)
}

fn overlap() -> ApiError {
    ApiError::conflict(
        "availability_overlap",
        "the driver already has a window in that time; change or remove it first",
    )
}

/// What the audit keeps of a window: when, where and in what.
fn audited(window: &Window) -> serde_json::Value {
    json!({
        "driverId": window.driver_id,
        "startsAt": window.starts_at,
        "endsAt": window.ends_at,
        "startAddressId": window.start_place.address_id,
        "endAddressId": window.end_place.address_id,
        "vehicleType": window.vehicle_type,
    })
}

/// Records a change staff made for a driver (a driver's changes to its own windows are
/// not staff changes): the fields that differ between the window before and after.
async fn audit_staff_change(
    tx: &Transaction<'_>,
    caller: &Caller,
    window_id: Uuid,
    action: &str,
    before: Option<&Window>,
    after: Option<&Window>,
) -> ApiResult<()> {
    if !caller.can(Permission::DispatchDrivers) {
        return Ok(());
    }
    let fields = |w: Option<&Window>| w.map_or_else(|| json!({}), audited);
    audit::record(
        tx,
        Entity::DriverAvailability,
        window_id,
        action,
        caller.user_id,
        audit::diff(&fields(before), &fields(after)),
        None,
    )
    .await
}

/// Whose window a new one is: staff who dispatch name any existing driver (`driverId`
/// required); a driver writes only its own.
async fn writable_driver(
    client: &impl GenericClient,
    caller: &Caller,
    claimed: Option<Uuid>,
) -> ApiResult<Uuid> {
    if !caller.can(Permission::DispatchDrivers) {
        return own_driver(client, caller, claimed).await;
    }
    super::named_driver(client, claimed).await
}

/// A window the caller may change, locked for the change: staff's any, a driver's own
/// (another's is a 404, as if it did not exist). One that has ended is a 409.
async fn writable_window(
    client: &impl GenericClient,
    caller: &Caller,
    window_id: Uuid,
) -> ApiResult<Window> {
    let locked = client
        .query_typed_opt(
            "SELECT driver_id FROM driver_availability WHERE id = $1 FOR UPDATE",
            &[p(&window_id)],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("availability window"))?;
    let driver_id: Uuid = locked.col("driver_id")?;
    if !caller.can(Permission::DispatchDrivers)
        && super::driver_id_of(client, caller.user_id).await? != Some(driver_id)
    {
        return Err(ApiError::not_found("availability window"));
    }
    let window = read(client, window_id).await?;
    if window.ends_at <= Utc::now() {
        return Err(ApiError::conflict(
            "availability_ended",
            "this window has ended and is kept as it was",
        ));
    }
    Ok(window)
}

/// A window's input, checked: the places stored and placed, the vehicle decided.
struct Checked {
    start_address: Uuid,
    end_address: Uuid,
    vehicle: VehicleType,
}

async fn check(
    state: &AppState,
    client: &impl GenericClient,
    caller: &Caller,
    driver_id: Uuid,
    input: &WindowInput,
) -> ApiResult<Checked> {
    let span = input.ends_at - input.starts_at;
    Validator::validate(|v| {
        v.check(span > Duration::zero(), "endsAt", "must be after startsAt");
        v.check(
            span <= Duration::hours(MAX_WINDOW_HOURS),
            "endsAt",
            &format!("must be within {MAX_WINDOW_HOURS} hours of startsAt"),
        );
        v.check(input.ends_at > Utc::now(), "endsAt", "has already passed");
        Some(())
    })?;
    let vehicle = match input.vehicle_type {
        Some(vehicle) => vehicle,
        None => client
            .query_typed_one(
                "SELECT vehicle_type FROM drivers WHERE id = $1",
                &[p(&driver_id)],
            )
            .await?
            .col::<Option<VehicleType>>("vehicle_type")?
            .ok_or_else(|| {
                ApiError::validation(vec![FieldError::new(
                    "vehicleType",
                    "is required: the driver's record names no vehicle",
                )])
            })?,
    };
    let start_address = place(state, client, caller, "startPlace", &input.start_place).await?;
    let end_address = match &input.end_place {
        Some(end) => place(state, client, caller, "endPlace", end).await?,
        None => start_address,
    };
    Ok(Checked {
        start_address,
        end_address,
        vehicle,
    })
}

/// The stored address of a place: an existing one the caller may use, or a new one
/// geocoded and stored. Either way it must be on the map, or no route can start there.
async fn place(
    state: &AppState,
    client: &impl GenericClient,
    caller: &Caller,
    field: &str,
    input: &PlaceInput,
) -> ApiResult<Uuid> {
    let unplaced = || {
        ApiError::validation(vec![FieldError::new(
            field,
            "could not be placed on the map; give a street address with its ZIP code",
        )])
    };
    match (&input.address_id, &input.address) {
        (Some(id), None) => {
            let any = caller.can(Permission::ManageAllAddresses);
            if !addresses::usable_by(client, *id, caller.user_id, any).await? {
                return Err(ApiError::validation(vec![FieldError::new(
                    format!("{field}.addressId"),
                    "is not an address you may use",
                )]));
            }
            match crate::geo::address_point(client, *id).await? {
                Some(_) => Ok(*id),
                None => Err(unplaced()),
            }
        }
        (None, Some(address)) => {
            addresses::check_sharing(caller, address)?;
            let valid = Validator::validate(|v| {
                addresses::validate(v, &format!("{field}.address"), address)
            })?;
            match addresses::insert(state, client, &valid, caller.user_id).await? {
                (id, Some(_)) => Ok(id),
                (_, None) => Err(unplaced()),
            }
        }
        _ => Err(ApiError::validation(vec![FieldError::new(
            field,
            "give exactly one of addressId and address",
        )])),
    }
}
