//! Deliveries (`GET /api/tracking/deliveries`, `/{id}`): each driver's run of an order,
//! opened at dispatch, following the driver status, carrying the proof of delivery. A
//! driver sees its own; staff see all (`?driverId=&status=`); anyone else 404 / 403.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{driver_id_of, lat_lng, point_of, Coordinates};
use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, FromRow, GenericClient},
    error::{ApiError, ApiResult, Context},
    input::{Cursor, Page, PageRequest},
    orders::status::DriverStatus,
};

#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: Uuid,
    pub order_id: Option<Uuid>,
    pub order_number: Option<String>,
    pub driver_id: Uuid,
    pub shift_id: Option<Uuid>,
    pub status: DriverStatus,
    /// Whether this is the order's current dispatch (false once reassigned).
    pub current: bool,
    #[row(read = point_of, rename = "pickup")]
    pub pickup_location: Option<Coordinates>,
    #[row(read = point_of, rename = "dropoff")]
    pub delivery_location: Option<Coordinates>,
    pub actual_arrival: Option<DateTime<Utc>>,
    pub pod_upload_id: Option<Uuid>,
    pub signature_upload_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

fn select() -> String {
    format!(
        "SELECT d.id, d.order_id, o.order_number, d.driver_id, d.shift_id, d.status,
                (ds.unassigned_at IS NULL AND ds.id IS NOT NULL) AS current, {}, {},
                d.actual_arrival, d.pod_upload_id, d.signature_upload_id, d.created_at
           FROM deliveries d
           LEFT JOIN orders o ON o.id = d.order_id
           LEFT JOIN dispatches ds ON ds.id = d.dispatch_id",
        lat_lng("d.pickup_location", "pickup"),
        lat_lng("d.delivery_location", "dropoff"),
    )
}

/// Whose deliveries the caller may list: staff any (or the named driver's), a driver its
/// own only; others 403.
async fn scope(
    client: &impl GenericClient,
    caller: &Caller,
    driver: Option<Uuid>,
) -> ApiResult<Option<Uuid>> {
    if caller.can(Permission::ViewDrivers) {
        return Ok(driver);
    }
    caller.require(Permission::Drive)?;
    let own = driver_id_of(client, caller.user_id)
        .await?
        .ok_or_else(|| ApiError::forbidden("this account has no driver record"))?;
    match driver {
        Some(other) if other != own => {
            Err(ApiError::forbidden("a driver sees only its own deliveries"))
        }
        _ => Ok(Some(own)),
    }
}

pub async fn list(
    client: &impl GenericClient,
    caller: &Caller,
    driver: Option<Uuid>,
    status: Option<DriverStatus>,
    page: &PageRequest,
) -> ApiResult<Page<Delivery>> {
    let driver = scope(client, caller, driver).await?;
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    let sql = format!(
        "{} WHERE ($1::uuid IS NULL OR d.driver_id = $1) AND ($2::text IS NULL OR d.status = $2)
              AND ($3::timestamptz IS NULL OR (d.created_at, d.id) < ($3, $4))
            ORDER BY d.created_at DESC, d.id DESC LIMIT $5",
        select()
    );
    let rows = client
        .query_typed(
            &sql,
            &[
                p(&driver),
                p(&status),
                p(&after_time),
                p(&after_id),
                p(&page.fetch_limit()),
            ],
        )
        .await
        .context("listing deliveries")?;
    let items = rows
        .iter()
        .map(Delivery::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |d| Cursor {
        at: d.created_at,
        id: d.id,
    }))
}

/// One delivery, for its driver and staff; anyone else gets 404.
pub async fn by_id(client: &impl GenericClient, caller: &Caller, id: Uuid) -> ApiResult<Delivery> {
    let sql = format!("{} WHERE d.id = $1", select());
    let delivery = client
        .query_typed_opt(&sql, &[p(&id)])
        .await
        .context("reading the delivery")?
        .map(|row| Delivery::from_row(&row))
        .transpose()?
        .ok_or_else(|| ApiError::not_found("delivery"))?;
    if super::may_read(client, caller, delivery.driver_id).await? {
        Ok(delivery)
    } else {
        Err(ApiError::not_found("delivery"))
    }
}
