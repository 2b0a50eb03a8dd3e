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
    db::{GenericClient, Transaction},
    error::{ApiError, ApiResult, FieldError},
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

/// `{driverStatus, location? {lat, lng}, notes?, pin?}` as the driver app sends it; `pin`,
/// the recipient's hand-off code, goes with `COMPLETED` where completing needs it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriverProgress {
    pub driver_status: String,
    pub location: Option<Coordinates>,
    pub notes: Option<String>,
    pub pin: Option<String>,
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
async fn require_assigned(
    client: &impl GenericClient,
    caller: &Caller,
    order_id: Uuid,
) -> ApiResult<()> {
    caller.require(Permission::Drive)?;
    orders::dispatch_driven_by(client, order_id, caller.user_id)
        .await?
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
    if let Some(pin) = progress.pin.as_deref() {
        enter_pin(state, caller, order, progress, pin).await?;
    }
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let order = lock_visible(&tx, caller, order).await?;
    report(&tx, caller, &order, progress).await?;
    let order = lock_visible(&tx, caller, OrderRef::Id(order.id)).await?;
    tx.commit().await?;
    Ok(order)
}

/// The hand-off code that comes with a driver's COMPLETED, checked before the completion
/// in a transaction of its own (a wrong code counts though the completion fails), and
/// only from the order's assigned driver: nobody else can spend its tries.
async fn enter_pin(
    state: &AppState,
    caller: &Caller,
    order: OrderRef<'_>,
    progress: &DriverProgress,
    pin: &str,
) -> ApiResult<()> {
    caller.require(Permission::Drive)?;
    let order_id = {
        let client = state.db.get().await?;
        let order_id = orders::visible_id(&*client, caller, order)
            .await?
            .ok_or_else(|| ApiError::not_found("order"))?;
        require_assigned(&*client, caller, order_id).await?;
        order_id
    };
    let completing = progress.driver_status.parse::<DriverStatus>() == Ok(DriverStatus::Completed);
    let well_formed =
        pin.len() == crate::auth::pins::PIN_DIGITS && pin.bytes().all(|b| b.is_ascii_digit());
    if !completing || !well_formed {
        return Err(ApiError::validation(vec![FieldError::new(
            "pin",
            format!(
                "is the recipient's {}-digit hand-off code, sent with driverStatus COMPLETED",
                crate::auth::pins::PIN_DIGITS
            ),
        )]));
    }
    orders::completion::enter_pin(state, order_id, pin).await
}

/// Applies a driver's reported status to a locked order.
pub async fn report(
    tx: &Transaction<'_>,
    caller: &Caller,
    order: &Order,
    progress: &DriverProgress,
) -> ApiResult<()> {
    // Whoever does not drive the order learns nothing of what a report must carry.
    require_assigned(tx, caller, order.id).await?;
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
