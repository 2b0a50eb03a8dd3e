//! What drivers and staff see of offers: the driver's pending offer with what it pays and
//! costs (`GET /api/driver/offers`), and every offer in pages (`GET /api/dispatch/offers`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    answers::caller_driver,
    offers::{Offer, OfferStatus},
};
use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, FromRow, GenericClient, RowExt},
    drivers::offers::OFFER_SELECT,
    error::{ApiResult, Context},
    input::{Cursor, Page, PageRequest},
    orders::rules::OrderType,
    pay::PayView,
};

/// A driver's pending offer, as the driver app shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DriverOffer {
    #[serde(flatten)]
    pub offer: Offer,
    pub order_type: OrderType,
    pub pickup: OfferStop,
    pub dropoff: OfferStop,
    pub pickup_at: DateTime<Utc>,
    pub arrival_at: DateTime<Utc>,
    /// Minutes the order adds to the driver's drive.
    pub extra_minutes: f64,
    /// What the delivery pays, as completing it would record it.
    pub pay_estimate: PayView,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OfferStop {
    pub street1: String,
    pub city: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

/// `GET /api/driver/offers`: the caller's pending offer, if any (a list of at most one).
pub async fn pending_for_driver(
    client: &impl GenericClient,
    caller: &Caller,
) -> ApiResult<Vec<DriverOffer>> {
    let driver_id = caller_driver(client, caller).await?;
    let rows = client
        .query_typed(
            "SELECT f.id, f.order_id, o.order_number, f.driver_id, f.attempt, f.status,
                        f.added_drive_seconds, f.offered_at, f.expires_at, f.answered_at, f.decline_reason,
                        o.order_type, o.pickup_date_time, o.arrival_date_time,
                        pa.street1 AS pickup_street1, pa.city AS pickup_city,
                        ST_Y(pa.location::geometry) AS pickup_lat, ST_X(pa.location::geometry) AS pickup_lng,
                        da.street1 AS dropoff_street1, da.city AS dropoff_city,
                        ST_Y(da.location::geometry) AS dropoff_lat, ST_X(da.location::geometry) AS dropoff_lng
                   FROM dispatch_offers f JOIN orders o ON o.id = f.order_id
                   JOIN addresses pa ON pa.id = o.pickup_address_id
                   JOIN addresses da ON da.id = o.delivery_address_id
                  WHERE f.driver_id = $1 AND f.status = 'PENDING' AND f.expires_at > now()",
            &[p(&driver_id)],
        )
        .await
        .context("reading the driver's offers")?;
    let mut offers = Vec::with_capacity(rows.len());
    for row in &rows {
        let stop = |prefix: &str| -> ApiResult<OfferStop> {
            Ok(OfferStop {
                street1: row.col(&format!("{prefix}_street1"))?,
                city: row.col(&format!("{prefix}_city"))?,
                lat: row.col(&format!("{prefix}_lat"))?,
                lng: row.col(&format!("{prefix}_lng"))?,
            })
        };
        let offer = Offer::from_row(row)?;
        let pay = crate::pay::estimate(client, offer.order_id)
            .await?
            .map(|(pay, _)| PayView::from(pay))
            .unwrap_or_default();
        offers.push(DriverOffer {
            extra_minutes: (f64::from(offer.added_drive_seconds) / 6.0).round() / 10.0,
            order_type: row.col("order_type")?,
            pickup: stop("pickup")?,
            dropoff: stop("dropoff")?,
            pickup_at: row.col("pickup_date_time")?,
            arrival_at: row.col("arrival_date_time")?,
            pay_estimate: pay,
            offer,
        });
    }
    Ok(offers)
}

/// `GET /api/dispatch/offers?status=`: offers newest first in pages (staff who dispatch).
pub async fn list(
    client: &impl GenericClient,
    caller: &Caller,
    status: Option<OfferStatus>,
    page: &PageRequest,
) -> ApiResult<Page<Offer>> {
    caller.require(Permission::DispatchDrivers)?;
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    let rows = client
        .query_typed(
            &format!(
                "{OFFER_SELECT}
                  WHERE ($1::text IS NULL OR f.status = $1)
                    AND ($2::timestamptz IS NULL OR (f.offered_at, f.id) < ($2, $3))
                  ORDER BY f.offered_at DESC, f.id DESC
                  LIMIT $4"
            ),
            &[
                p(&status),
                p(&after_time),
                p(&after_id),
                p(&page.fetch_limit()),
            ],
        )
        .await
        .context("listing offers")?;
    let items = rows
        .iter()
        .map(Offer::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |o| Cursor {
        at: o.offered_at,
        id: o.id,
    }))
}
