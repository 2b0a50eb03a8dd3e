//! Who may take an order now, best first: the nearest drivers who are on shift, active,
//! under their delivery cap and without a pending offer, whose vehicle may carry it and
//! who carry fewer orders than their vehicle type allows; each ranked by the drive time
//! the order adds to the route it already drives ([`routing::insertion`]), and left out
//! when no place in that route reaches the order's pickup and drop inside their windows
//! without making another stop late.
//!
//! The route as it stands is what the driver carries: orders picked up ride from where
//! the driver is now; the others are visited in the order they are due, each pickup then
//! its drop. The route ends wherever its last stop is. Travel is the offline estimate:
//! ranking runs on every new order and has to answer in milliseconds.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::settings::Settings;
use crate::{
    db::{p, GenericClient, RowExt},
    drivers::roster::{nearest_available, NearQuery, NearbyDriver, DEFAULT_RADIUS_M},
    error::{ApiError, ApiResult},
    geo::Point,
    orders::{rules::VehicleType, status::DriverStatus},
    planning::inputs::{carried_by, PlanOrder},
    routing::{
        insertion, rules::PlanningRules, travel, Objective, Problem, Seconds, Shipment, Stop,
        StopKind, TimeWindow, Vehicle,
    },
};

/// Drivers looked at, nearest first, before ranking by added drive time.
pub const POOL: i64 = 10;
/// A driver's shift end is not known here: the route may run this long after its last
/// window closes (the windows bound it anyway).
const SLACK_SECONDS: Seconds = 3600.0;

/// A driver who can take the order, and what it costs.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    pub driver_id: Uuid,
    pub vehicle_type: VehicleType,
    pub distance_meters: f64,
    /// Drive time the order adds to the driver's route.
    pub added_drive_seconds: f64,
    /// Orders the driver carries now.
    pub carrying: usize,
}

/// The drivers who may take `order` now, least added drive time first, leaving out those
/// in `skip` (already offered this order).
#[tracing::instrument(skip_all, fields(order_id = %order.id))]
pub async fn rank(
    client: &impl GenericClient,
    order: &PlanOrder,
    settings: &Settings,
    skip: &[Uuid],
    now: DateTime<Utc>,
) -> ApiResult<Vec<Candidate>> {
    let (Some(pickup), Some(_)) = (order.pickup(), order.delivery()) else {
        return Ok(Vec::new());
    };
    let nearby = nearest_available(
        client,
        NearQuery {
            point: pickup,
            radius_m: DEFAULT_RADIUS_M,
            limit: POOL + skip.len() as i64,
        },
    )
    .await?;
    let ids: Vec<Uuid> = nearby.iter().map(|n| n.driver.id).collect();
    let busy = with_pending_offer(client, &ids).await?;
    let nearby: Vec<NearbyDriver> = nearby
        .into_iter()
        .filter(|n| !skip.contains(&n.driver.id) && !busy.contains(&n.driver.id))
        .collect();
    let ids: Vec<Uuid> = nearby.iter().map(|n| n.driver.id).collect();
    let mut carried: HashMap<Uuid, Vec<PlanOrder>> = HashMap::new();
    for o in carried_by(client, &ids).await? {
        if let Some(driver) = o.driver_id {
            carried.entry(driver).or_default().push(o);
        }
    }
    let rules = PlanningRules::default();
    let mut ranked: Vec<Candidate> = nearby
        .iter()
        .filter_map(|n| {
            let load = carried.get(&n.driver.id).map_or(&[][..], Vec::as_slice);
            cost(&rules, settings, n, load, order, now)
        })
        .collect();
    ranked.sort_by(|a, b| {
        a.added_drive_seconds
            .total_cmp(&b.added_drive_seconds)
            .then(a.distance_meters.total_cmp(&b.distance_meters))
    });
    Ok(ranked)
}

/// When a driver who takes `order` is to be at its pickup and its drop, and the pickup's
/// place among the route's stops: the cheapest insertion into the route the driver
/// drives now (its other orders, from where it is). `None` when it has no position or no
/// place in its route fits the order any more.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timetable {
    pub pickup_at: DateTime<Utc>,
    pub dropoff_at: DateTime<Utc>,
    pub sequence: i16,
}

pub async fn timetable(
    client: &impl GenericClient,
    driver_id: Uuid,
    order: &PlanOrder,
    now: DateTime<Utc>,
) -> ApiResult<Option<Timetable>> {
    let Some(row) = client
        .query_typed_opt(
            "SELECT vehicle_type, ST_Y(last_known_location::geometry) AS lat,
                    ST_X(last_known_location::geometry) AS lng
               FROM drivers WHERE id = $1 AND last_known_location IS NOT NULL",
            &[p(&driver_id)],
        )
        .await?
    else {
        return Ok(None);
    };
    let position = Point {
        lat: row.col("lat")?,
        lng: row.col("lng")?,
    };
    let vehicle_type = row
        .col::<Option<VehicleType>>("vehicle_type")?
        .unwrap_or(VehicleType::Car);
    let load: Vec<PlanOrder> = carried_by(client, &[driver_id])
        .await?
        .into_iter()
        .filter(|o| o.id != order.id)
        .collect();
    let rules = PlanningRules::default();
    let Some(route) = LiveRoute::build(&rules, position, vehicle_type, &load, Some(order), now)?
    else {
        return Ok(None);
    };
    let new = route.problem.shipments.len() - 1;
    let Some(inserted) =
        insertion::cheapest(&route.problem, 0, 0.0, &route.visits, route.on_board, new)
    else {
        return Ok(None);
    };
    let at = |seconds: f64| now + chrono::Duration::milliseconds((seconds * 1000.0) as i64);
    let stops = &inserted.route.stops;
    let find = |kind| {
        stops
            .iter()
            .position(|s| s.shipment == new && s.kind == kind)
    };
    let (Some(pickup), Some(dropoff)) = (find(StopKind::Pickup), find(StopKind::Delivery)) else {
        return Ok(None);
    };
    Ok(Some(Timetable {
        pickup_at: at(stops[pickup].service_start),
        dropoff_at: at(stops[dropoff].service_start),
        sequence: i16::try_from(pickup).unwrap_or(i16::MAX),
    }))
}

/// Of `drivers`, those holding a pending offer.
async fn with_pending_offer(client: &impl GenericClient, drivers: &[Uuid]) -> ApiResult<Vec<Uuid>> {
    let rows = client
        .query_typed(
            "SELECT driver_id FROM dispatch_offers WHERE status = 'PENDING' AND driver_id = ANY($1)",
            &[p(&drivers.to_vec())],
        )
        .await?;
    rows.iter().map(|r| r.col("driver_id")).collect()
}

/// What taking `order` costs the driver `nearby`, carrying `load`; `None` when its
/// vehicle may not carry it, it carries its vehicle's most already, or no place in its
/// route fits the order in time.
fn cost(
    rules: &PlanningRules,
    settings: &Settings,
    nearby: &NearbyDriver,
    load: &[PlanOrder],
    order: &PlanOrder,
    now: DateTime<Utc>,
) -> Option<Candidate> {
    let vehicle_type = nearby
        .driver
        .vehicle_type
        .as_deref()
        .and_then(|t| t.parse::<VehicleType>().ok())
        .unwrap_or(VehicleType::Car);
    let position = nearby.driver.last_location.as_ref().map(|l| Point {
        lat: l.lat,
        lng: l.lng,
    })?;
    if load.len() >= usize::try_from(settings.max_carried.of(vehicle_type)).unwrap_or(0) {
        return None;
    }
    let route = LiveRoute::build(rules, position, vehicle_type, load, Some(order), now).ok()??;
    let inserted = insertion::cheapest(
        &route.problem,
        0,
        0.0,
        &route.visits,
        route.on_board,
        route.problem.shipments.len() - 1,
    )?;
    Some(Candidate {
        driver_id: nearby.driver.id,
        vehicle_type,
        distance_meters: nearby.distance_meters,
        added_drive_seconds: inserted.added_drive_time.round(),
        carrying: load.len(),
    })
}

/// A driver's route as it stands, from where it is now; with a new order, that one last
/// among the shipments (not yet in the visits).
pub struct LiveRoute {
    pub problem: Problem,
    pub visits: Vec<(usize, StopKind)>,
    /// Pickups of orders already on board: first in the visits, fixed.
    pub on_board: usize,
}

impl LiveRoute {
    /// `Ok(None)` when an order has no place on the map, or the vehicle may not carry the
    /// new one.
    pub fn build(
        rules: &PlanningRules,
        position: Point,
        vehicle_type: VehicleType,
        load: &[PlanOrder],
        order: Option<&PlanOrder>,
        now: DateTime<Utc>,
    ) -> ApiResult<Option<Self>> {
        let seconds = |t: DateTime<Utc>| (t - now).num_milliseconds() as f64 / 1000.0;
        let mut points = vec![position];
        let mut place = |point: Point| {
            points.push(point);
            points.len() - 1
        };
        let mut shipments = Vec::with_capacity(load.len() + 1);
        let mut on_board = Vec::new();
        for (i, o) in load.iter().chain(order).enumerate() {
            let (Some(pickup), Some(delivery)) = (o.pickup(), o.delivery()) else {
                return Ok(None);
            };
            let stops = rules.stops(&o.needs());
            let picked = o.driver_status.is_some_and(is_on_board) && i < load.len();
            let pickup = match picked {
                // Picked up: it rides from here, now.
                true => Stop {
                    place: 0,
                    window: TimeWindow::new(0.0, 0.0),
                    service: 0.0,
                },
                false => Stop {
                    place: place(pickup),
                    window: TimeWindow::new(
                        seconds(stops.pickup_window.0),
                        seconds(stops.pickup_window.1),
                    ),
                    service: stops.pickup_service.num_seconds() as f64,
                },
            };
            if picked {
                on_board.push(i);
            }
            shipments.push(Shipment {
                id: o.id.to_string(),
                pickup,
                delivery: Stop {
                    place: place(delivery),
                    window: TimeWindow::new(
                        seconds(stops.drop_window.0),
                        seconds(stops.drop_window.1),
                    ),
                    service: stops.drop_service.num_seconds() as f64,
                },
                size: stops.size,
                vehicle_types: stops.vehicle_types,
            });
        }
        // The shipments already in the route: all but the new order, if any.
        let new = load.len();
        if shipments.get(new).is_some_and(|s| {
            s.vehicle_types
                .as_ref()
                .is_some_and(|types| !types.contains(&vehicle_type))
        }) {
            return Ok(None);
        }
        let matrix = travel::estimated(&points)
            .map_err(ApiError::internal)?
            .with_free_end();
        let end = matrix.size() - 1;
        // On board first (they ride from here), then the rest by when they are due.
        let mut waiting: Vec<usize> = (0..new).filter(|i| !on_board.contains(i)).collect();
        waiting.sort_by(|&a, &b| {
            shipments[a]
                .delivery
                .window
                .end
                .total_cmp(&shipments[b].delivery.window.end)
        });
        let mut visits: Vec<(usize, StopKind)> =
            on_board.iter().map(|&i| (i, StopKind::Pickup)).collect();
        let mut deliveries: Vec<(usize, StopKind)> =
            on_board.iter().map(|&i| (i, StopKind::Delivery)).collect();
        deliveries.sort_by(|a, b| {
            shipments[a.0]
                .delivery
                .window
                .end
                .total_cmp(&shipments[b.0].delivery.window.end)
        });
        visits.extend(deliveries);
        for i in waiting {
            visits.push((i, StopKind::Pickup));
            visits.push((i, StopKind::Delivery));
        }
        let last_window = shipments
            .iter()
            .map(|s| s.delivery.window.end)
            .fold(0.0, f64::max);
        let problem = Problem {
            matrix,
            shipments,
            vehicles: vec![Vehicle {
                id: "driver".to_owned(),
                vehicle_type,
                capacity: rules.capacity(vehicle_type),
                start: 0,
                end,
                shift: TimeWindow::new(0.0, last_window + SLACK_SECONDS),
            }],
            objective: Objective::DriveTime,
            locks: Vec::new(),
        };
        Ok(Some(Self {
            problem,
            visits,
            on_board: on_board.len(),
        }))
    }
}

/// Whether a delivery at this status has its order in the vehicle.
fn is_on_board(status: DriverStatus) -> bool {
    matches!(
        status,
        DriverStatus::PickedUp | DriverStatus::EnRouteToClient | DriverStatus::ArrivedToClient
    )
}
