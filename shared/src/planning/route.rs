//! A driver's route of a day (`GET /api/driver/route?date=&driverId=`): the stops of the
//! deliveries applied plans gave it, in order, with their planned times and places. A
//! driver reads its own; staff who view drivers name one.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{inputs::Days, StopKind};
use crate::{
    auth::rbac::Caller,
    db::{p, FromRow, GenericClient},
    drivers::readable_driver,
    error::ApiResult,
    orders::status::DriverStatus,
};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DriverRoute {
    pub driver_id: Uuid,
    pub date: NaiveDate,
    pub stops: Vec<RouteStop>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteStop {
    pub order_id: Uuid,
    pub order_number: String,
    pub kind: StopKind,
    pub planned_at: DateTime<Utc>,
    pub street1: String,
    pub city: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// Where the delivery stands now.
    pub status: DriverStatus,
}

/// One planned delivery: its two stops.
#[derive(FromRow)]
struct Planned {
    order_id: Uuid,
    order_number: String,
    status: DriverStatus,
    planned_pickup_at: DateTime<Utc>,
    planned_dropoff_at: DateTime<Utc>,
    planned_sequence: i16,
    pickup_street1: String,
    pickup_city: String,
    pickup_lat: Option<f64>,
    pickup_lng: Option<f64>,
    dropoff_street1: String,
    dropoff_city: String,
    dropoff_lat: Option<f64>,
    dropoff_lng: Option<f64>,
}

pub async fn of_day(
    client: &impl GenericClient,
    caller: &Caller,
    driver: Option<Uuid>,
    date: NaiveDate,
) -> ApiResult<DriverRoute> {
    let driver_id = readable_driver(client, caller, driver).await?;
    let day = Days {
        from: date,
        to: date,
    };
    let rows = client
        .query_typed(
            "SELECT o.id AS order_id, o.order_number, d.status, d.planned_pickup_at,
                    d.planned_dropoff_at, d.planned_sequence,
                    pa.street1 AS pickup_street1, pa.city AS pickup_city,
                    ST_Y(pa.location::geometry) AS pickup_lat, ST_X(pa.location::geometry) AS pickup_lng,
                    da.street1 AS dropoff_street1, da.city AS dropoff_city,
                    ST_Y(da.location::geometry) AS dropoff_lat, ST_X(da.location::geometry) AS dropoff_lng
               FROM deliveries d
               JOIN dispatches ds ON ds.id = d.dispatch_id AND ds.unassigned_at IS NULL
               JOIN orders o ON o.id = d.order_id
               JOIN addresses pa ON pa.id = o.pickup_address_id
               JOIN addresses da ON da.id = o.delivery_address_id
              WHERE d.driver_id = $1 AND d.planned_pickup_at >= $2 AND d.planned_pickup_at < $3",
            &[p(&driver_id), p(&day.start()?), p(&day.end()?)],
        )
        .await?;
    let planned = Planned::from_rows(&rows)?;
    let mut stops: Vec<(DateTime<Utc>, i16, u8, RouteStop)> = Vec::with_capacity(planned.len() * 2);
    for d in planned {
        let stop = |kind, at, street1: &str, city: &str, lat, lng| RouteStop {
            order_id: d.order_id,
            order_number: d.order_number.clone(),
            kind,
            planned_at: at,
            street1: street1.to_owned(),
            city: city.to_owned(),
            lat,
            lng,
            status: d.status,
        };
        stops.push((
            d.planned_pickup_at,
            d.planned_sequence,
            0,
            stop(
                StopKind::Pickup,
                d.planned_pickup_at,
                &d.pickup_street1,
                &d.pickup_city,
                d.pickup_lat,
                d.pickup_lng,
            ),
        ));
        stops.push((
            d.planned_dropoff_at,
            d.planned_sequence,
            1,
            stop(
                StopKind::Dropoff,
                d.planned_dropoff_at,
                &d.dropoff_street1,
                &d.dropoff_city,
                d.dropoff_lat,
                d.dropoff_lng,
            ),
        ));
    }
    // By planned time; a pickup and a drop at the same minute keep their plan's order.
    stops.sort_by_key(|s| (s.0, s.1, s.2));
    Ok(DriverRoute {
        driver_id,
        date,
        stops: stops.into_iter().map(|(_, _, _, s)| s).collect(),
    })
}
