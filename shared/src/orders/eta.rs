//! An order's expected times as its current delivery holds them (kept current by the
//! driver's location reports; see the drivers' `eta` module), for the views that show them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    db::{p, FromRow, GenericClient, Row, RowExt},
    error::{ApiResult, Context},
};

/// A delivery's expected times.
#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryEta {
    /// When the driver is expected at the vendor; none once the order is picked up.
    #[row(rename = "eta_pickup")]
    pub pickup_at: Option<DateTime<Utc>>,
    /// When the driver is expected at the client.
    #[row(rename = "eta_dropoff")]
    pub dropoff_at: Option<DateTime<Utc>>,
    #[row(rename = "eta_computed_at")]
    pub computed_at: DateTime<Utc>,
    /// Which travel times: `offline` (the routing core's estimate), `google` or `mixed`.
    #[row(rename = "eta_source")]
    pub source: String,
}

/// The ETA columns of `deliveries d`.
pub const ETA_COLUMNS: &str = "d.eta_pickup, d.eta_dropoff, d.eta_computed_at, d.eta_source";

impl DeliveryEta {
    /// From a row with [`ETA_COLUMNS`]: none until a report has timed the delivery.
    pub fn from_columns(row: &Row) -> ApiResult<Option<Self>> {
        match row.col::<Option<DateTime<Utc>>>("eta_computed_at")? {
            Some(_) => Ok(Some(Self::from_row(row)?)),
            None => Ok(None),
        }
    }
}

/// The times of the order's current delivery, if it has a driver whose reports timed it.
pub async fn of_order(
    client: &impl GenericClient,
    order_id: Uuid,
) -> ApiResult<Option<DeliveryEta>> {
    let row = client
        .query_typed_opt(
            &format!(
                "SELECT {ETA_COLUMNS} FROM dispatches ds JOIN deliveries d ON d.dispatch_id = ds.id
                  WHERE ds.order_id = $1 AND ds.unassigned_at IS NULL"
            ),
            &[p(&order_id)],
        )
        .await
        .context("reading the order's ETA")?;
    match row {
        Some(row) => DeliveryEta::from_columns(&row),
        None => Ok(None),
    }
}
