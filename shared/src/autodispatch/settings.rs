//! What auto-dispatch does per order type, as data staff edit
//! (`GET /api/dispatch/auto-settings`, `PUT /api/dispatch/auto-settings/{orderType}`):
//! on or off, how long a driver has to accept, how far ahead a catering order is offered,
//! how many offers before escalating, and how many orders a vehicle carries at once.
//! Every change is audited.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::{self, Entity},
    auth::{rbac::Caller, Permission},
    db::{p, FromRow, GenericClient},
    error::{ApiError, ApiResult},
    input::Validator,
    orders::rules::{OrderType, VehicleType},
    AppState,
};

/// Orders a vehicle carries at once, offers included, by vehicle type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MaxCarried {
    pub car: i32,
    pub van: i32,
    pub truck: i32,
}

impl MaxCarried {
    pub fn of(&self, vehicle: VehicleType) -> i32 {
        match vehicle {
            VehicleType::Car => self.car,
            VehicleType::Van => self.van,
            VehicleType::Truck => self.truck,
        }
    }
}

/// One order type's settings.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub order_type: OrderType,
    pub enabled: bool,
    pub acceptance_seconds: i32,
    pub horizon_minutes: i32,
    pub max_attempts: i32,
    #[row(read = max_carried_of, rename = "max_carried")]
    pub max_carried: MaxCarried,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
}

impl Settings {
    pub fn acceptance(&self) -> Duration {
        Duration::seconds(self.acceptance_seconds.into())
    }
}

fn max_carried_of(row: &crate::db::Row, prefix: &str) -> ApiResult<MaxCarried> {
    use crate::db::RowExt;
    Ok(MaxCarried {
        car: row.col(&format!("{prefix}_car"))?,
        van: row.col(&format!("{prefix}_van"))?,
        truck: row.col(&format!("{prefix}_truck"))?,
    })
}

/// `PUT /api/dispatch/auto-settings/{orderType}`: the whole of one type's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsInput {
    pub enabled: bool,
    pub acceptance_seconds: i32,
    pub horizon_minutes: i32,
    pub max_attempts: i32,
    pub max_carried: MaxCarried,
}

pub const ACCEPTANCE_SECONDS: std::ops::RangeInclusive<i32> = 10..=600;
pub const HORIZON_MINUTES: std::ops::RangeInclusive<i32> = 15..=1440;
pub const MAX_ATTEMPTS: std::ops::RangeInclusive<i32> = 1..=50;
pub const MAX_CARRIED: std::ops::RangeInclusive<i32> = 1..=10;

const SELECT: &str = "SELECT order_type, enabled, acceptance_seconds, horizon_minutes, max_attempts,
                             max_carried_car, max_carried_van, max_carried_truck, updated_by, updated_at
                        FROM auto_dispatch_settings";

/// Both order types' settings (staff who dispatch).
pub async fn list(client: &impl GenericClient, caller: &Caller) -> ApiResult<Vec<Settings>> {
    caller.require(Permission::DispatchDrivers)?;
    let rows = client
        .query_typed(&format!("{SELECT} ORDER BY order_type"), &[])
        .await?;
    rows.iter().map(Settings::from_row).collect()
}

/// One order type's settings, as auto-dispatch reads them.
pub async fn of(client: &impl GenericClient, order_type: OrderType) -> ApiResult<Settings> {
    let row = client
        .query_typed_opt(
            &format!("{SELECT} WHERE order_type = $1"),
            &[p(&order_type)],
        )
        .await?
        .ok_or_else(|| ApiError::internal(format!("no auto-dispatch settings for {order_type}")))?;
    Settings::from_row(&row)
}

/// Replaces one order type's settings, audited in the same transaction.
#[tracing::instrument(name = "update_auto_dispatch_settings", skip_all, fields(%order_type))]
pub async fn update(
    state: &AppState,
    caller: &Caller,
    order_type: OrderType,
    input: &SettingsInput,
) -> ApiResult<Settings> {
    caller.require(Permission::DispatchDrivers)?;
    check(input)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let before = tx
        .query_typed_one(
            &format!("{SELECT} WHERE order_type = $1 FOR UPDATE"),
            &[p(&order_type)],
        )
        .await?;
    let before = Settings::from_row(&before)?;
    let row = tx
        .query_typed_one(
            "UPDATE auto_dispatch_settings
                SET enabled = $2, acceptance_seconds = $3, horizon_minutes = $4, max_attempts = $5,
                    max_carried_car = $6, max_carried_van = $7, max_carried_truck = $8, updated_by = $9
              WHERE order_type = $1
          RETURNING order_type, enabled, acceptance_seconds, horizon_minutes, max_attempts,
                    max_carried_car, max_carried_van, max_carried_truck, updated_by, updated_at",
            &[
                p(&order_type),
                p(&input.enabled),
                p(&input.acceptance_seconds),
                p(&input.horizon_minutes),
                p(&input.max_attempts),
                p(&input.max_carried.car),
                p(&input.max_carried.van),
                p(&input.max_carried.truck),
                p(&caller.user_id),
            ],
        )
        .await?;
    let after = Settings::from_row(&row)?;
    audit::record(
        &tx,
        Entity::AutoDispatchSettings,
        audit_id(order_type),
        "UPDATE",
        caller.user_id,
        audit::diff(&audited(&before), &audited(&after)),
        None,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(enabled = after.enabled, "auto-dispatch settings changed");
    Ok(after)
}

/// The audit's entity id of an order type's settings (a row keyed by its type, not an
/// id): fixed, so each type's history is one list.
pub fn audit_id(order_type: OrderType) -> Uuid {
    match order_type {
        OrderType::Catering => Uuid::from_u128(1),
        OrderType::OnDemand => Uuid::from_u128(2),
    }
}

fn audited(settings: &Settings) -> serde_json::Value {
    json!({
        "enabled": settings.enabled,
        "acceptanceSeconds": settings.acceptance_seconds,
        "horizonMinutes": settings.horizon_minutes,
        "maxAttempts": settings.max_attempts,
        "maxCarried": settings.max_carried,
    })
}

fn check(input: &SettingsInput) -> ApiResult<()> {
    Validator::validate(|v| {
        let within =
            |v: &mut Validator, field: &str, value: i32, range: &std::ops::RangeInclusive<i32>| {
                v.check(
                    range.contains(&value),
                    field,
                    &format!("must be from {} to {}", range.start(), range.end()),
                );
            };
        within(
            v,
            "acceptanceSeconds",
            input.acceptance_seconds,
            &ACCEPTANCE_SECONDS,
        );
        within(v, "horizonMinutes", input.horizon_minutes, &HORIZON_MINUTES);
        within(v, "maxAttempts", input.max_attempts, &MAX_ATTEMPTS);
        within(v, "maxCarried.car", input.max_carried.car, &MAX_CARRIED);
        within(v, "maxCarried.van", input.max_carried.van, &MAX_CARRIED);
        within(v, "maxCarried.truck", input.max_carried.truck, &MAX_CARRIED);
        Some(())
    })
}
