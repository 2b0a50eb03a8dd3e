//! What a plan is made from: the days' orders that still need a driver, and the drivers'
//! availability windows on those days.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::routing::rules::OrderNeeds;
use crate::{
    db::{p, FromRow, GenericClient, RowExt},
    drivers::availability::{self, Window},
    error::ApiResult,
    geo::Point,
    orders::{
        rules::{NeedHost, OrderType, VehicleType},
        status::DriverStatus,
    },
};

/// The business days a plan covers (Pacific time, as every order date), both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Days {
    /// The instant the first day starts: the plan's clock counts from it.
    pub fn start(&self) -> ApiResult<DateTime<Utc>> {
        crate::pacific::midnight(self.from)
    }

    /// The instant after the last day ends.
    pub fn end(&self) -> ApiResult<DateTime<Utc>> {
        crate::pacific::midnight(self.to + chrono::Duration::days(1))
    }
}

/// An order as planning reads it.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct PlanOrder {
    pub id: Uuid,
    pub order_number: String,
    pub order_type: OrderType,
    pub pickup_date_time: DateTime<Utc>,
    pub arrival_date_time: DateTime<Utc>,
    pub headcount: Option<i32>,
    pub need_host: Option<NeedHost>,
    pub weight_lb: Option<f64>,
    pub vehicle_type: Option<VehicleType>,
    pub updated_at: DateTime<Utc>,
    pub pickup_lat: Option<f64>,
    pub pickup_lng: Option<f64>,
    pub delivery_lat: Option<f64>,
    pub delivery_lng: Option<f64>,
    /// Its arrival's business day.
    pub service_date: NaiveDate,
    /// Why it cannot be planned (has a driver, under way, settled), if so.
    pub taken: Option<String>,
    /// Its current driver, if it has one.
    pub driver_id: Option<Uuid>,
    /// Where its delivery stands, once it has a driver.
    pub driver_status: Option<DriverStatus>,
}

impl PlanOrder {
    pub fn needs(&self) -> OrderNeeds {
        OrderNeeds {
            order_type: self.order_type,
            pickup_at: self.pickup_date_time,
            arrival_at: self.arrival_date_time,
            headcount: self.headcount,
            hosts_needed: self.need_host == Some(NeedHost::Yes),
            weight_lb: self.weight_lb,
            vehicle_type: self.vehicle_type,
        }
    }

    pub fn pickup(&self) -> Option<Point> {
        Some(Point {
            lat: self.pickup_lat?,
            lng: self.pickup_lng?,
        })
    }

    pub fn delivery(&self) -> Option<Point> {
        Some(Point {
            lat: self.delivery_lat?,
            lng: self.delivery_lng?,
        })
    }
}

const ORDER_SELECT: &str = "
    SELECT o.id, o.order_number, o.order_type, o.pickup_date_time, o.arrival_date_time,
           o.headcount, o.need_host, o.weight_lb::float8 AS weight_lb, o.vehicle_type, o.updated_at,
           ST_Y(pa.location::geometry) AS pickup_lat, ST_X(pa.location::geometry) AS pickup_lng,
           ST_Y(da.location::geometry) AS delivery_lat, ST_X(da.location::geometry) AS delivery_lng,
           (o.arrival_date_time AT TIME ZONE 'America/Los_Angeles')::date AS service_date,
           CASE WHEN NOT order_is_open(o.status) THEN 'the order is ' || lower(o.status)
                WHEN o.driver_status IS NOT NULL
                  OR EXISTS (SELECT 1 FROM dispatches ds
                              WHERE ds.order_id = o.id AND ds.unassigned_at IS NULL)
                THEN 'the order has a driver'
           END AS taken,
           (SELECT ds.driver_id FROM dispatches ds
             WHERE ds.order_id = o.id AND ds.unassigned_at IS NULL) AS driver_id,
           o.driver_status
      FROM orders o
      JOIN addresses pa ON pa.id = o.pickup_address_id
      JOIN addresses da ON da.id = o.delivery_address_id";

/// The orders a plan of `days` covers: those named (every one of them, plannable or not,
/// for the caller to judge), else every open order due on those days without a driver.
pub async fn orders(
    client: &impl GenericClient,
    days: Days,
    named: Option<&[Uuid]>,
) -> ApiResult<Vec<PlanOrder>> {
    let rows = match named {
        Some(ids) => return by_ids(client, ids).await,
        None => {
            client
                .query_typed(
                    &format!(
                        "{ORDER_SELECT}
                          WHERE o.arrival_date_time >= $1 AND o.arrival_date_time < $2
                            AND o.deleted_at IS NULL AND order_is_open(o.status)
                            AND o.driver_status IS NULL
                            AND NOT EXISTS (SELECT 1 FROM dispatches ds
                                             WHERE ds.order_id = o.id AND ds.unassigned_at IS NULL)
                          ORDER BY o.arrival_date_time, o.id"
                    ),
                    &[p(&days.start()?), p(&days.end()?)],
                )
                .await?
        }
    };
    PlanOrder::from_rows(&rows)
}

/// The orders of `ids` that exist, whatever their state, by arrival.
pub async fn by_ids(client: &impl GenericClient, ids: &[Uuid]) -> ApiResult<Vec<PlanOrder>> {
    let rows = client
        .query_typed(
            &format!("{ORDER_SELECT} WHERE o.id = ANY($1) AND o.deleted_at IS NULL ORDER BY o.arrival_date_time, o.id"),
            &[p(&ids.to_vec())],
        )
        .await?;
    PlanOrder::from_rows(&rows)
}

/// The open orders each of `drivers` carries now (its current dispatches), by arrival.
pub async fn carried_by(
    client: &impl GenericClient,
    drivers: &[Uuid],
) -> ApiResult<Vec<PlanOrder>> {
    let rows = client
        .query_typed(
            &format!(
                "{ORDER_SELECT}
                  WHERE o.deleted_at IS NULL AND order_is_open(o.status)
                    AND EXISTS (SELECT 1 FROM dispatches ds
                                 WHERE ds.order_id = o.id AND ds.unassigned_at IS NULL
                                   AND ds.driver_id = ANY($1))
                  ORDER BY o.arrival_date_time, o.id"
            ),
            &[p(&drivers.to_vec())],
        )
        .await?;
    PlanOrder::from_rows(&rows)
}

/// The open orders due on `days` that have a driver already: an insert plan keeps those
/// not yet started with their drivers, and starts a driver with one under way where and
/// when that delivery ends.
pub async fn assigned(client: &impl GenericClient, days: Days) -> ApiResult<Vec<PlanOrder>> {
    let rows = client
        .query_typed(
            &format!(
                "{ORDER_SELECT}
                  WHERE o.arrival_date_time >= $1 AND o.arrival_date_time < $2
                    AND o.deleted_at IS NULL AND order_is_open(o.status)
                    AND EXISTS (SELECT 1 FROM dispatches ds
                                 WHERE ds.order_id = o.id AND ds.unassigned_at IS NULL)
                  ORDER BY o.arrival_date_time, o.id"
            ),
            &[p(&days.start()?), p(&days.end()?)],
        )
        .await?;
    PlanOrder::from_rows(&rows)
}

/// The availability windows of `days`: the plan's vehicles.
pub async fn windows(
    client: &impl GenericClient,
    days: Days,
    drivers: Option<&[Uuid]>,
) -> ApiResult<Vec<Window>> {
    availability::for_planning(client, days.from, days.to, drivers).await
}

/// What a plan was made from: each order's and each availability window's last change.
/// Applying compares it with the rows as they are then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub orders: BTreeMap<Uuid, DateTime<Utc>>,
    pub windows: BTreeMap<Uuid, DateTime<Utc>>,
}

impl Fingerprint {
    pub fn of(orders: &[PlanOrder], windows: &[Window]) -> Self {
        Self {
            orders: orders.iter().map(|o| (o.id, o.updated_at)).collect(),
            windows: windows.iter().map(|w| (w.id, w.updated_at)).collect(),
        }
    }
}

/// The named drivers that do not exist (or were removed).
pub async fn unknown_drivers(client: &impl GenericClient, ids: &[Uuid]) -> ApiResult<Vec<Uuid>> {
    let rows = client
        .query_typed(
            "SELECT id FROM unnest($1::uuid[]) AS requested(id)
              WHERE NOT EXISTS (SELECT 1 FROM drivers d WHERE d.id = requested.id AND d.deleted_at IS NULL)",
            &[p(&ids.to_vec())],
        )
        .await?;
    rows.iter().map(|r| r.col("id")).collect()
}
