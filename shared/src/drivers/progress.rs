//! A driver's progress on a delivery: the statuses the driver app sends (`PATCH
//! /api/orders/{order_number} {driverStatus, location?}`, only by the order's assigned
//! driver). Like the arrivals its location reports imply ([`super::arrivals`]), they go
//! through [`orders::change_status`], so the history and the partners' outbox hear every
//! step, once.

use serde::{Deserialize, Deserializer};
use uuid::Uuid;

use super::Coordinates;
use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, Transaction},
    error::{ApiError, ApiResult, Context, FieldError},
    geo::Point,
    input::{bounded_text, Lines},
    orders::{
        self,
        edit::{lock_visible, OrderRef, OrderUpdate},
        status::DriverStatus,
        Actor, Order, StatusChange,
    },
    AppState,
};

/// `{driverStatus, location? {lat, lng}, notes?}` as the driver app sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriverProgress {
    pub driver_status: String,
    pub location: Option<Coordinates>,
    pub notes: Option<String>,
}

/// What a PATCH of an order carries: a driver's progress, or field edits.
#[derive(Debug, Clone)]
pub enum OrderPatch {
    Progress(DriverProgress),
    Fields(OrderUpdate),
}

impl<'de> Deserialize<'de> for OrderPatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        if value.get("driverStatus").is_some() {
            serde_json::from_value(value)
                .map(OrderPatch::Progress)
                .map_err(D::Error::custom)
        } else {
            serde_json::from_value(value)
                .map(OrderPatch::Fields)
                .map_err(D::Error::custom)
        }
    }
}

/// The caller's current dispatch to the order, as its driver: 403 otherwise (the caller
/// sees the order, as its owner or staff, but does not drive it).
async fn require_assigned(tx: &Transaction<'_>, caller: &Caller, order_id: Uuid) -> ApiResult<()> {
    caller.require(Permission::Drive)?;
    tx.query_typed_opt(
        "SELECT 1 FROM dispatches ds JOIN drivers dr ON dr.id = ds.driver_id
          WHERE ds.order_id = $1 AND ds.unassigned_at IS NULL AND dr.user_id = $2",
        &[p(&order_id), p(&caller.user_id)],
    )
    .await
    .context("finding the order's driver")?
    .map(|_| ())
    .ok_or_else(|| ApiError::forbidden("only the order's assigned driver reports its progress"))
}

/// A driver's report on an order, in one transaction: the order as it now reads.
#[tracing::instrument(name = "report_progress", skip_all)]
pub async fn report_on(
    state: &AppState,
    caller: &Caller,
    order: OrderRef<'_>,
    progress: &DriverProgress,
) -> ApiResult<Order> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let order = lock_visible(&tx, caller, order).await?;
    report(&tx, caller, &order, progress).await?;
    let order = lock_visible(&tx, caller, OrderRef::Id(order.id)).await?;
    tx.commit().await?;
    Ok(order)
}

/// Applies a driver's reported status to a locked order.
pub async fn report(
    tx: &Transaction<'_>,
    caller: &Caller,
    order: &Order,
    progress: &DriverProgress,
) -> ApiResult<()> {
    let (status, location, note) = crate::input::Validator::validate(|v| {
        let status = v.take(
            progress
                .driver_status
                .parse::<DriverStatus>()
                .map_err(|e| FieldError::new("driverStatus", e)),
        );
        let location = match progress.location {
            None => Some(None),
            Some(c) => v.take(c.checked("location")).map(Some),
        };
        let note = match progress.notes.as_deref() {
            None => Some(None),
            Some(text) => v
                .take(bounded_text("notes", text, 1, 500, Lines::Many))
                .map(Some),
        };
        Some((status?, location?, note?))
    })?;
    require_assigned(tx, caller, order.id).await?;
    let change = StatusChange {
        order: None,
        driver: Some(status),
        actor: Actor::User(caller.user_id),
        note,
        location: location.map(|l: Point| (l.lng, l.lat)),
    };
    orders::change_status(tx, order.id, &change).await?;
    Ok(())
}
