//! A driver's progress on a delivery: the statuses the driver app sends (`PATCH
//! /api/orders/{order_number} {driverStatus, location?}`, only by the order's assigned
//! driver) and the arrivals its location reports imply (within 150 m of the pickup or
//! the drop-off). Both go through [`orders::change_status`], so the history and the
//! partners' outbox hear every step, once.

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use super::Coordinates;
use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, RowExt, Transaction},
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

/// How close to a stop a point must be to count as arriving there.
pub const ARRIVAL_RADIUS_M: f64 = 150.0;

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

/// An open delivery of a reporting driver, where its stops are and whether a point is
/// at them.
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
}

impl OpenStop {
    /// The arrival the point means for this delivery, if any.
    pub fn arrival(&self) -> Option<DriverStatus> {
        arrival(self.driver_status, self.near_pickup, self.near_dropoff)
    }
}

/// The driver's open deliveries, and whether `at` is within [`ARRIVAL_RADIUS_M`] of each
/// one's stops.
pub async fn open_stops(
    tx: &Transaction<'_>,
    driver_id: Uuid,
    at: Point,
) -> ApiResult<Vec<OpenStop>> {
    let rows = tx
        .query_typed(
            "SELECT o.id, o.order_number, o.driver_status, d.id AS delivery_id,
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
            &[p(&driver_id), p(&at.wkt()), p(&ARRIVAL_RADIUS_M)],
        )
        .await
        .context("looking for arrivals")?;
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
            })
        })
        .collect()
}

/// Moves each open delivery that `at` arrives at to its arrival status.
pub async fn record_arrivals(
    tx: &Transaction<'_>,
    caller: &Caller,
    driver_id: Uuid,
    at: Point,
    stops: &[OpenStop],
) -> ApiResult<Vec<Arrival>> {
    let mut arrivals = Vec::new();
    for stop in stops {
        let Some(status) = stop.arrival() else {
            continue;
        };
        let change = StatusChange {
            order: None,
            driver: Some(status),
            actor: Actor::User(caller.user_id),
            note: Some(format!("within {ARRIVAL_RADIUS_M} m (location report)")),
            location: Some((at.lng, at.lat)),
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
