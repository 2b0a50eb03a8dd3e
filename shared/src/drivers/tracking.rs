//! Following a delivery: the order's owner (and staff) see the driver's position while
//! the delivery is in progress (`GET /api/orders/{order_number}/driver-location`), with
//! an ETA to the next stop; and a signed, expiring public link (`GET /api/track/{token}`)
//! shows anyone holding it the status and, while in progress, the driver's first name,
//! position and ETA. A link altered in any byte, or expired, is a 404.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    auth::{
        links::{self, LinkPurpose},
        rbac::Caller,
        Permission,
    },
    db::{p, FromRow, GenericClient, RowExt},
    error::{ApiError, ApiResult, Context},
    geo::{self, Point},
    orders::{
        self,
        edit::OrderRef,
        eta::{DeliveryEta, ETA_COLUMNS},
        status::{DriverStatus, OrderStatus},
    },
    AppState,
};

/// Average city driving speed for ETAs (25 mph).
const AVERAGE_MPH: f64 = 25.0;

/// Whether a delivery is underway: from leaving for the vendor to arriving at the client.
pub fn in_progress(order: OrderStatus, driver: Option<DriverStatus>) -> bool {
    !order.is_settled()
        && driver.is_some_and(|d| {
            (DriverStatus::EnRouteToVendor..=DriverStatus::ArrivedToClient).contains(&d)
        })
}

/// The driver's latest reported point.
#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct DriverLocation {
    pub lat: f64,
    pub lng: f64,
    #[row(rename = "accuracy_m")]
    pub accuracy: Option<f32>,
    #[row(rename = "speed_mps")]
    pub speed: Option<f32>,
    #[row(rename = "heading_deg")]
    pub heading: Option<f32>,
    pub is_on_duty: bool,
    #[row(rename = "recorded_at")]
    pub last_update: DateTime<Utc>,
}

/// Time to the next stop from the driver's last point.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Eta {
    /// `pickup` before the food is picked up, `dropoff` after.
    pub to: &'static str,
    pub miles: f64,
    pub minutes: f64,
    pub arrives_at: DateTime<Utc>,
    /// Where the distance came from (`google`, or the offline estimate).
    pub source: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DriverLocationView {
    pub driver_location: Option<DriverLocation>,
    /// To the next stop from the last point, asked of the distance provider now.
    pub eta: Option<Eta>,
    /// Both stops' times as the driver's reports keep them.
    pub delivery_eta: Option<DeliveryEta>,
}

/// What the order's delivery looks like now, from the order's own row.
struct Underway {
    order_id: Uuid,
    order_number: String,
    status: OrderStatus,
    driver_status: Option<DriverStatus>,
    driver_id: Option<Uuid>,
    driver_name: Option<String>,
    pickup: Option<Point>,
    dropoff: Option<Point>,
    /// The times its driver's location reports keep.
    delivery_eta: Option<DeliveryEta>,
}

async fn underway(client: &impl GenericClient, order_id: Uuid) -> ApiResult<Underway> {
    let row = client
        .query_typed_one(
            &format!(
                "SELECT o.id, o.order_number, o.status, o.driver_status, ds.driver_id, u.name AS driver_name,
                    ST_Y(pa.location::geometry) AS pickup_lat, ST_X(pa.location::geometry) AS pickup_lng,
                    ST_Y(da.location::geometry) AS dropoff_lat, ST_X(da.location::geometry) AS dropoff_lng,
                    {ETA_COLUMNS}
               FROM orders o
               JOIN addresses pa ON pa.id = o.pickup_address_id
               JOIN addresses da ON da.id = o.delivery_address_id
               LEFT JOIN dispatches ds ON ds.order_id = o.id AND ds.unassigned_at IS NULL
               LEFT JOIN deliveries d ON d.dispatch_id = ds.id
               LEFT JOIN drivers dr ON dr.id = ds.driver_id
               LEFT JOIN users u ON u.id = dr.user_id
              WHERE o.id = $1"
            ),
            &[p(&order_id)],
        )
        .await
        .context("reading the delivery")?;
    let point = |prefix: &str| geo::point_at(&row, prefix);
    Ok(Underway {
        order_id: row.col("id")?,
        order_number: row.col("order_number")?,
        status: row.col("status")?,
        driver_status: row.col("driver_status")?,
        driver_id: row.col("driver_id")?,
        driver_name: row.col("driver_name")?,
        pickup: point("pickup")?,
        dropoff: point("dropoff")?,
        delivery_eta: DeliveryEta::from_columns(&row)?,
    })
}

async fn latest_point(
    client: &impl GenericClient,
    driver_id: Uuid,
) -> ApiResult<Option<DriverLocation>> {
    let row = client
        .query_typed_opt(
            "SELECT ST_Y(l.location::geometry) AS lat, ST_X(l.location::geometry) AS lng,
                    l.accuracy_m, l.speed_mps, l.heading_deg, l.recorded_at, d.is_on_duty
               FROM drivers d
               JOIN LATERAL (SELECT * FROM driver_locations dl
                              WHERE dl.driver_id = d.id AND dl.recorded_at >= now() - interval '1 day'
                              ORDER BY dl.recorded_at DESC LIMIT 1) l ON true
              WHERE d.id = $1",
            &[p(&driver_id)],
        )
        .await
        .context("reading the driver's position")?;
    row.map(|row| DriverLocation::from_row(&row)).transpose()
}

/// The ETA from `from` to the delivery's next stop, through the distance provider.
async fn eta(state: &AppState, delivery: &Underway, from: Point) -> Option<Eta> {
    let picked_up = delivery
        .driver_status
        .is_some_and(|d| d >= DriverStatus::PickedUp);
    let (to, stop) = match picked_up {
        false => ("pickup", delivery.pickup?),
        true => ("dropoff", delivery.dropoff?),
    };
    let (hundredths, source) = geo::driving_distance(state, from, stop).await;
    let miles = hundredths as f64 / 100.0;
    let minutes = (miles / AVERAGE_MPH * 60.0 * 10.0).round() / 10.0;
    Some(Eta {
        to,
        miles,
        minutes,
        arrives_at: Utc::now() + Duration::seconds((minutes * 60.0) as i64),
        source: source.as_str(),
    })
}

/// The position and ETA of the delivery, when it is in progress and the driver has
/// reported one.
async fn position(
    state: &AppState,
    delivery: &Underway,
) -> ApiResult<(Option<DriverLocation>, Option<Eta>)> {
    let Some(driver_id) = delivery.driver_id else {
        return Ok((None, None));
    };
    if !in_progress(delivery.status, delivery.driver_status) {
        return Ok((None, None));
    }
    let client = state.db.get().await?;
    let Some(location) = latest_point(&*client, driver_id).await? else {
        return Ok((None, None));
    };
    let from = Point {
        lat: location.lat,
        lng: location.lng,
    };
    let eta = eta(state, delivery, from).await;
    Ok((Some(location), eta))
}

/// An order the caller follows: its owner, or staff. Anyone else (its driver included,
/// who knows where it is) gets 404.
async fn followed(state: &AppState, caller: &Caller, order_number: &str) -> ApiResult<Underway> {
    let client = state.db.get().await?;
    let order_id = orders::visible_id(&*client, caller, OrderRef::Number(order_number))
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let owner: Uuid = client
        .query_typed_one("SELECT user_id FROM orders WHERE id = $1", &[p(&order_id)])
        .await?
        .col("user_id")?;
    if owner != caller.user_id && !caller.can(Permission::ViewDrivers) {
        return Err(ApiError::not_found("order"));
    }
    underway(&*client, order_id).await
}

pub async fn driver_location(
    state: &AppState,
    caller: &Caller,
    order_number: &str,
) -> ApiResult<DriverLocationView> {
    let delivery = followed(state, caller, order_number).await?;
    let (driver_location, eta) = position(state, &delivery).await?;
    Ok(DriverLocationView {
        driver_location,
        eta,
        delivery_eta: delivery.delivery_eta,
    })
}

/// A public link to follow an order.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrackingLink {
    pub token: String,
    /// The API path that shows it.
    pub path: String,
    pub expires_at: DateTime<Utc>,
}

/// Signs a link to follow the order for [`links::TRACKING_LINK_TTL`].
pub async fn tracking_link(
    state: &AppState,
    caller: &Caller,
    order_number: &str,
) -> ApiResult<TrackingLink> {
    let delivery = followed(state, caller, order_number).await?;
    let expires_at = Utc::now() + links::TRACKING_LINK_TTL;
    let keys = state.jwt().await?;
    let token = links::sign(&keys, LinkPurpose::Tracking, delivery.order_id, expires_at);
    Ok(TrackingLink {
        path: format!("/api/track/{token}"),
        token,
        expires_at,
    })
}

/// What a public link shows.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PublicTracking {
    pub order_number: String,
    pub status: OrderStatus,
    pub driver_status: Option<DriverStatus>,
    pub in_progress: bool,
    /// The driver's first name, while in progress.
    pub driver_first_name: Option<String>,
    pub position: Option<PublicPosition>,
    pub eta: Option<Eta>,
    /// Both stops' times as the driver's reports keep them, until the order settles.
    pub delivery_eta: Option<DeliveryEta>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PublicPosition {
    pub lat: f64,
    pub lng: f64,
    pub last_update: DateTime<Utc>,
}

pub async fn public_view(state: &AppState, token: &str) -> ApiResult<PublicTracking> {
    let keys = state.jwt().await?;
    let order_id = links::verify(&keys, LinkPurpose::Tracking, token, Utc::now())
        .ok_or_else(|| ApiError::not_found("tracking link"))?;
    let delivery = {
        let client = state.db.get().await?;
        let deleted: Option<bool> = client
            .query_typed_opt(
                "SELECT deleted_at IS NOT NULL AS deleted FROM orders WHERE id = $1",
                &[p(&order_id)],
            )
            .await?
            .map(|r| r.col("deleted"))
            .transpose()?;
        if deleted != Some(false) {
            return Err(ApiError::not_found("tracking link"));
        }
        underway(&*client, order_id).await?
    };
    let progressing = in_progress(delivery.status, delivery.driver_status);
    let (location, eta) = position(state, &delivery).await?;
    Ok(PublicTracking {
        order_number: delivery.order_number.clone(),
        status: delivery.status,
        driver_status: delivery.driver_status,
        in_progress: progressing,
        driver_first_name: progressing
            .then(|| {
                delivery
                    .driver_name
                    .as_deref()
                    .and_then(|n| n.split_whitespace().next())
                    .map(str::to_owned)
            })
            .flatten(),
        position: location.map(|l| PublicPosition {
            lat: l.lat,
            lng: l.lng,
            last_update: l.last_update,
        }),
        eta,
        delivery_eta: delivery
            .delivery_eta
            .clone()
            .filter(|_| !delivery.status.is_settled()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_is_followed_from_leaving_for_the_vendor_to_arriving() {
        use DriverStatus::*;
        for (driver, expected) in [
            (None, false),
            (Some(Assigned), false),
            (Some(EnRouteToVendor), true),
            (Some(PickedUp), true),
            (Some(ArrivedToClient), true),
            (Some(Completed), false),
        ] {
            assert_eq!(
                in_progress(OrderStatus::InProgress, driver),
                expected,
                "{driver:?}"
            );
        }
        assert!(!in_progress(OrderStatus::Cancelled, Some(PickedUp)));
    }
}
