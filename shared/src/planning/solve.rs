//! The planner job: claims a queued plan, reads its orders and drivers as they are now,
//! states them as a routing problem (times in seconds from the first day's midnight,
//! nothing before now), solves it within the plan's budget on a blocking thread while the
//! best solution so far is written to the plan every few seconds, and stores the result.
//! A plan that is not queued (already taken by a duplicate delivery of the event) is
//! left alone; a failure is recorded on the plan, which is all the job ever writes.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::watch;
use uuid::Uuid;

use super::{
    inputs::{self, Days, PlanOrder},
    plans::{fail, PlanMode, PlanStatus},
    PlanResult, PlannedRoute, PlannedStop, SolverStatistics, StopKind, Totals, UnplannedOrder,
    UnplannedReason,
};
use crate::{
    db::{p, RowExt},
    drivers::availability::Window,
    error::{ApiError, ApiResult},
    geo::Point,
    orders::status::DriverStatus,
    routing::rules::PlanningRules,
    routing::{
        self, solve,
        travel::{self, TravelSource},
        Objective, Problem, Progress, Shipment, SolveOptions, Stop, TimeWindow, Vehicle,
    },
    AppState,
};

/// How often the search's best is written to the plan.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// Solves the plan, if it is still queued. Returns its status afterwards (none when
/// there is no such plan).
pub async fn run(state: &AppState, plan_id: Uuid) -> ApiResult<Option<PlanStatus>> {
    let client = state.db.get().await?;
    let claimed = client
        .query_typed_opt(
            "UPDATE dispatch_plans SET status = 'SOLVING', started_at = now()
              WHERE id = $1 AND status = 'QUEUED'
              RETURNING service_from, service_to, order_ids, driver_ids, time_limit_seconds, mode",
            &[p(&plan_id)],
        )
        .await?;
    let Some(row) = claimed else {
        tracing::info!(plan_id = %plan_id, "the plan is not queued; nothing to do");
        return client
            .query_typed_opt(
                "SELECT status FROM dispatch_plans WHERE id = $1",
                &[p(&plan_id)],
            )
            .await?
            .map(|row| row.col("status"))
            .transpose();
    };
    let days = Days {
        from: row.col("service_from")?,
        to: row.col("service_to")?,
    };
    let order_ids: Option<Vec<Uuid>> = row.col("order_ids")?;
    let driver_ids: Option<Vec<Uuid>> = row.col("driver_ids")?;
    let budget =
        Duration::from_secs(u64::try_from(row.col::<i32>("time_limit_seconds")?).unwrap_or(1));
    let mode = PlanMode::from_sql(row.col("mode")?);
    drop(client);
    let asked = Asked {
        days,
        order_ids,
        driver_ids,
        budget,
        mode,
    };
    match solve_plan(state, plan_id, asked).await {
        Ok(()) => Ok(Some(PlanStatus::Solved)),
        Err(err) => {
            tracing::error!(plan_id = %plan_id, error = %err.message, "the plan could not be solved");
            fail(
                &*state.db.get().await?,
                plan_id,
                &format!("the plan could not be solved: {}", err.message),
            )
            .await?;
            Ok(Some(PlanStatus::Failed))
        }
    }
}

/// What the plan's row asks for.
struct Asked {
    days: Days,
    order_ids: Option<Vec<Uuid>>,
    driver_ids: Option<Vec<Uuid>>,
    budget: Duration,
    mode: PlanMode,
}

async fn solve_plan(state: &AppState, plan_id: Uuid, asked: Asked) -> ApiResult<()> {
    let Asked {
        days,
        order_ids,
        driver_ids,
        budget,
        mode,
    } = asked;
    let (orders, kept, windows) = {
        let client = state.db.get().await?;
        let orders = inputs::orders(&*client, days, order_ids.as_deref()).await?;
        // Named orders may have changed since the plan was asked for.
        let orders: Vec<PlanOrder> = orders.into_iter().filter(|o| o.taken.is_none()).collect();
        let kept = match mode {
            PlanMode::Plan => Vec::new(),
            PlanMode::Insert => inputs::assigned(&*client, days).await?,
        };
        let windows = inputs::windows(&*client, days, driver_ids.as_deref()).await?;
        (orders, kept, windows)
    };
    let origin = days.start()?;
    let rules = PlanningRules::default();
    let mut stated = state_problem(&rules, origin, Utc::now(), &orders, &kept, &windows)?;
    let (matrix, travel) = travel::matrix(state, &*state.db.get().await?, &stated.places).await?;
    stated.problem.matrix = matrix;

    let (sender, mut receiver) = watch::channel(None::<Progress>);
    let options = SolveOptions {
        progress: Some(Arc::new(move |progress: &Progress| {
            let _ = sender.send(Some(progress.clone()));
        })),
        progress_interval: PROGRESS_EVERY,
        ..SolveOptions::within(budget)
    };
    let problem = Arc::new(stated.problem);
    let solving = {
        let problem = problem.clone();
        tokio::task::spawn_blocking(move || solve(&problem, &options))
    };
    // The search's best, written as it improves, until the search ends (its sender drops).
    let writer = {
        let db = state.db.clone();
        async move {
            while receiver.changed().await.is_ok() {
                let Some(progress) = receiver.borrow_and_update().clone() else {
                    continue;
                };
                let written: ApiResult<u64> = async {
                    Ok(db
                        .get()
                        .await?
                        .execute_typed(
                            "UPDATE dispatch_plans SET progress = $2 WHERE id = $1 AND status = 'SOLVING'",
                            &[p(&plan_id), p(&progress_json(&progress))],
                        )
                        .await?)
                }
                .await;
                if let Err(err) = written {
                    tracing::warn!(plan_id = %plan_id, error = %err.message, "progress not written");
                }
            }
        }
    };
    let (solved, ()) = tokio::join!(solving, writer);
    let plan = solved
        .map_err(|e| ApiError::internal(format!("the solver stopped: {e}")))?
        .map_err(|e| ApiError::internal(e.to_string()))?;

    let result = describe(
        travel,
        &problem,
        &plan,
        &stated.orders,
        &stated.vehicles,
        stated.set_aside,
        origin,
    );
    let result_json = serde_json::to_value(&result).map_err(ApiError::internal)?;
    let made_from: Vec<PlanOrder> = orders.iter().chain(kept.iter()).cloned().collect();
    let fingerprint = serde_json::to_value(inputs::Fingerprint::of(&made_from, &windows))
        .map_err(ApiError::internal)?;
    let updated = state
        .db
        .get()
        .await?
        .execute_typed(
            "UPDATE dispatch_plans
                SET status = 'SOLVED', result = $2, inputs = $3, finished_at = now(),
                    progress = $4
              WHERE id = $1 AND status = 'SOLVING'",
            &[
                p(&plan_id),
                p(&result_json),
                p(&fingerprint),
                p(&json!({
                    "generation": plan.statistics.generations,
                    "bestCost": plan.statistics.cost,
                    "routes": plan.routes.len(),
                    "unassigned": result.unassigned.len(),
                    "elapsedSeconds": plan.statistics.elapsed_seconds,
                })),
            ],
        )
        .await?;
    if updated == 0 {
        return Err(ApiError::conflict(
            "plan_taken",
            "the plan was no longer solving",
        ));
    }
    tracing::info!(plan_id = %plan_id, routes = result.routes.len(), planned = result.totals.planned,
        unplanned = result.unassigned.len(), generations = plan.statistics.generations,
        seconds = plan.statistics.elapsed_seconds, "plan solved");
    Ok(())
}

fn progress_json(progress: &Progress) -> serde_json::Value {
    json!({
        "generation": progress.generation,
        "bestCost": progress.best_cost,
        "routes": progress.routes,
        "unassigned": progress.unassigned,
        "elapsedSeconds": progress.elapsed_seconds,
    })
}

/// The routing problem of a plan, and what each shipment and vehicle stands for.
struct Stated<'a> {
    problem: Problem,
    /// Each shipment's order.
    orders: Vec<&'a PlanOrder>,
    /// Each vehicle's availability window.
    vehicles: Vec<&'a Window>,
    /// Orders left out before solving, and why.
    set_aside: Vec<(&'a PlanOrder, UnplannedReason)>,
    /// Each matrix place's point (the matrix is made from them).
    places: Vec<Point>,
}

/// Seconds from `origin`.
fn seconds(origin: DateTime<Utc>, at: DateTime<Utc>) -> f64 {
    (at - origin).num_milliseconds() as f64 / 1000.0
}

fn state_problem<'a>(
    rules: &PlanningRules,
    origin: DateTime<Utc>,
    now: DateTime<Utc>,
    orders: &'a [PlanOrder],
    kept: &'a [PlanOrder],
    windows: &'a [Window],
) -> ApiResult<Stated<'a>> {
    let now_s = seconds(origin, now);
    let mut points: Vec<Point> = Vec::new();
    let mut place_of: HashMap<(u64, u64), usize> = HashMap::new();
    let mut place = |point: Point| {
        *place_of
            .entry((point.lat.to_bits(), point.lng.to_bits()))
            .or_insert_with(|| {
                points.push(point);
                points.len() - 1
            })
    };
    let mut stated = Stated {
        problem: Problem {
            matrix: routing::Matrix::from_distances(0, Vec::new()).map_err(ApiError::internal)?,
            shipments: Vec::new(),
            vehicles: Vec::new(),
            objective: Objective::DriveTime,
            locks: Vec::new(),
        },
        orders: Vec::new(),
        vehicles: Vec::new(),
        set_aside: Vec::new(),
        places: Vec::new(),
    };
    // A driver with a delivery under way starts, in this plan, where and when the last
    // of those ends: its stops are not the plan's to move.
    let mut busy_until: HashMap<Uuid, (f64, Point)> = HashMap::new();
    for order in kept
        .iter()
        .filter(|o| o.driver_status.is_some_and(|s| s != DriverStatus::Assigned))
    {
        if let (Some(driver), Some(delivery)) = (order.driver_id, order.delivery()) {
            let until = seconds(origin, order.arrival_date_time);
            let entry = busy_until.entry(driver).or_insert((until, delivery));
            if until > entry.0 {
                *entry = (until, delivery);
            }
        }
    }
    for window in windows {
        let mut shift = TimeWindow::new(
            seconds(origin, window.starts_at).max(now_s),
            seconds(origin, window.ends_at),
        );
        let mut start = window.start_place.point();
        if let Some(&(until, at)) = busy_until.get(&window.driver_id) {
            if until > shift.start && until < shift.end {
                shift.start = until;
                start = at;
            } else if until >= shift.end {
                continue;
            }
        }
        if shift.end <= shift.start {
            continue;
        }
        stated.problem.vehicles.push(Vehicle {
            id: window.id.to_string(),
            vehicle_type: window.vehicle_type,
            capacity: rules.capacity(window.vehicle_type),
            start: place(start),
            end: place(window.end_place.point()),
            shift,
        });
        stated.vehicles.push(window);
    }
    // Orders whose driver has not started them ride again with that driver, in the
    // window their pickup falls in (or its first that day).
    let kept_with: Vec<(&PlanOrder, usize)> = kept
        .iter()
        .filter(|o| o.driver_status == Some(DriverStatus::Assigned))
        .filter_map(|order| {
            let driver = order.driver_id?;
            let theirs = || {
                stated
                    .vehicles
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| w.driver_id == driver)
            };
            theirs()
                .find(|(_, w)| {
                    w.starts_at <= order.pickup_date_time && order.pickup_date_time < w.ends_at
                })
                .or_else(|| theirs().next())
                .map(|(vehicle, _)| (order, vehicle))
        })
        .collect();
    let new = orders.iter().map(|o| (o, None));
    let again = kept_with.into_iter().map(|(o, v)| (o, Some(v)));
    for (order, locked_to) in new.chain(again) {
        let Some((pickup, delivery)) = order.pickup().zip(order.delivery()) else {
            if locked_to.is_none() {
                stated
                    .set_aside
                    .push((order, UnplannedReason::PlaceUnknown));
            }
            continue;
        };
        let stops = rules.stops(&order.needs());
        let window = |(open, close): (DateTime<Utc>, DateTime<Utc>)| {
            TimeWindow::new(seconds(origin, open).max(now_s), seconds(origin, close))
        };
        let (pickup_window, drop_window) = (window(stops.pickup_window), window(stops.drop_window));
        if pickup_window.end < pickup_window.start || drop_window.end < drop_window.start {
            if locked_to.is_none() {
                stated.set_aside.push((order, UnplannedReason::WindowPast));
            }
            continue;
        }
        let shipment = stated.problem.shipments.len();
        stated.problem.shipments.push(Shipment {
            id: order.id.to_string(),
            pickup: Stop {
                place: place(pickup),
                window: pickup_window,
                service: stops.pickup_service.num_seconds() as f64,
            },
            delivery: Stop {
                place: place(delivery),
                window: drop_window,
                service: stops.drop_service.num_seconds() as f64,
            },
            size: stops.size,
            vehicle_types: stops.vehicle_types,
        });
        stated.orders.push(order);
        if let Some(vehicle) = locked_to {
            match stated
                .problem
                .locks
                .iter_mut()
                .find(|l| l.vehicle == vehicle)
            {
                Some(lock) => lock.shipments.push(shipment),
                None => stated.problem.locks.push(routing::Lock {
                    vehicle,
                    shipments: vec![shipment],
                }),
            }
        }
    }
    stated.places = points;
    Ok(stated)
}

/// The solver's plan in the API's terms: drivers, orders and times of day.
fn describe(
    travel: TravelSource,
    problem: &Problem,
    plan: &routing::Plan,
    orders: &[&PlanOrder],
    vehicles: &[&Window],
    set_aside: Vec<(&PlanOrder, UnplannedReason)>,
    origin: DateTime<Utc>,
) -> PlanResult {
    let total = orders.len() + set_aside.len();
    let at = |s: f64| origin + chrono::Duration::milliseconds((s * 1000.0).round() as i64);
    let routes: Vec<PlannedRoute> = plan
        .routes
        .iter()
        .map(|route| {
            let window = vehicles[route.vehicle];
            PlannedRoute {
                driver_id: window.driver_id,
                window_id: window.id,
                vehicle_type: window.vehicle_type,
                departure_at: at(route.departure),
                return_at: at(route.end_arrival),
                stops: route
                    .stops
                    .iter()
                    .map(|stop| {
                        let order = orders[stop.shipment];
                        PlannedStop {
                            order_id: order.id,
                            order_number: order.order_number.clone(),
                            kind: match stop.kind {
                                routing::StopKind::Pickup => StopKind::Pickup,
                                routing::StopKind::Delivery => StopKind::Dropoff,
                            },
                            arrival_at: at(stop.arrival),
                            service_start_at: at(stop.service_start),
                            departure_at: at(stop.departure),
                            load: stop.load,
                            already_assigned: order.driver_id.is_some(),
                        }
                    })
                    .collect(),
                miles: route.distance / crate::geo::METERS_PER_MILE,
                drive_minutes: route.drive_time / 60.0,
            }
        })
        .collect();
    let mut unassigned: Vec<UnplannedOrder> = set_aside
        .into_iter()
        .map(|(order, reason)| UnplannedOrder {
            order_id: order.id,
            order_number: order.order_number.clone(),
            reason,
        })
        .collect();
    unassigned.extend(plan.unassigned.iter().map(|u| {
        let order = orders[u.shipment];
        UnplannedOrder {
            order_id: order.id,
            order_number: order.order_number.clone(),
            reason: u.reason.into(),
        }
    }));
    let mut drivers: Vec<Uuid> = routes.iter().map(|r| r.driver_id).collect();
    drivers.sort_unstable();
    drivers.dedup();
    // Stops whose service starts after their window closes.
    let late = plan
        .routes
        .iter()
        .flat_map(|r| &r.stops)
        .filter(|stop| {
            let shipment = &problem.shipments[stop.shipment];
            let end = match stop.kind {
                routing::StopKind::Pickup => shipment.pickup.window.end,
                routing::StopKind::Delivery => shipment.delivery.window.end,
            };
            stop.service_start > end
        })
        .count();
    PlanResult {
        totals: Totals {
            orders: total,
            planned: orders.len() - plan.unassigned.len(),
            drivers: drivers.len(),
            miles: plan.distance() / crate::geo::METERS_PER_MILE,
            drive_minutes: plan.drive_time() / 60.0,
            late,
        },
        routes,
        unassigned,
        statistics: SolverStatistics {
            generations: plan.statistics.generations,
            elapsed_seconds: plan.statistics.elapsed_seconds,
            cost: plan.statistics.cost,
        },
        travel: travel.as_str().to_owned(),
    }
}
