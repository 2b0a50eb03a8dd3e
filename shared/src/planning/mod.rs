//! Dispatch plans: the days' orders that need a driver, planned into routes for the
//! drivers available, by the routing core ([`crate::routing`]).
//!
//! - [`inputs`]: the orders and availability windows a plan is made from.
//! - [`plans`]: asking for a plan and following it (the API).
//! - [`apply`]: a solved plan's routes assigned through the one dispatch path.
//! - [`route`]: a driver's route of a day, as applied plans timed it.
//! - [`solve`]: the planner job: a queued plan solved within its budget, its progress
//!   and its result written to its row.
//!
//! A plan's life is one row of `dispatch_plans`: QUEUED when asked for, SOLVING while the
//! planner job searches (with the best solution so far), then SOLVED with its routes, or
//! FAILED with the reason. Solving writes nothing else; applying turns a SOLVED plan into
//! dispatches (APPLIED).

pub mod apply;
pub mod inputs;
pub mod plans;
pub mod route;
pub mod solve;

use aws_sdk_lambda::{primitives::Blob, types::InvocationType};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{error::BoxError, orders::rules::VehicleType, routing::UnassignedReason, AppState};

/// A solved plan: each driver's route, the orders left out and why, and totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanResult {
    pub routes: Vec<PlannedRoute>,
    pub unassigned: Vec<UnplannedOrder>,
    pub totals: Totals,
    pub statistics: SolverStatistics,
    /// Where travel times came from: `google` (road, fresh or cached), `offline`
    /// (great-circle × road factor at city speed), or `mixed`.
    pub travel: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedRoute {
    /// The driver (by id only: a stored plan keeps no personal data for a purge to miss).
    pub driver_id: Uuid,
    /// The availability window the route runs in.
    pub window_id: Uuid,
    pub vehicle_type: VehicleType,
    pub departure_at: DateTime<Utc>,
    pub return_at: DateTime<Utc>,
    pub stops: Vec<PlannedStop>,
    pub miles: f64,
    pub drive_minutes: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StopKind {
    Pickup,
    Dropoff,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedStop {
    pub order_id: Uuid,
    pub order_number: String,
    pub kind: StopKind,
    pub arrival_at: DateTime<Utc>,
    /// When service starts: on arrival, or when the window opens.
    pub service_start_at: DateTime<Utc>,
    pub departure_at: DateTime<Utc>,
    /// Units aboard when the driver leaves the stop.
    pub load: i32,
    /// The order has this driver already (an insert plan keeps it with it).
    #[serde(default)]
    pub already_assigned: bool,
}

/// Why an order is in no route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnplannedReason {
    /// No driver can reach its stops inside their windows and its own working hours.
    NoDriverInTime,
    /// Larger than any available vehicle.
    TooLarge,
    /// No available vehicle of a type that may carry it.
    NoVehicleOfType,
    /// It fits a driver alone, but every driver who could take it is busy with others.
    DriversBusy,
    /// Its pickup or delivery window has already closed.
    WindowPast,
    /// Its pickup or delivery address is not on the map.
    PlaceUnknown,
    /// The solver gave no reason.
    Unknown,
}

impl From<UnassignedReason> for UnplannedReason {
    fn from(reason: UnassignedReason) -> Self {
        match reason {
            UnassignedReason::NoDriverInTime => Self::NoDriverInTime,
            UnassignedReason::TooLarge => Self::TooLarge,
            UnassignedReason::NoVehicleOfType => Self::NoVehicleOfType,
            UnassignedReason::DriversBusy => Self::DriversBusy,
            UnassignedReason::Unknown => Self::Unknown,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnplannedOrder {
    pub order_id: Uuid,
    pub order_number: String,
    pub reason: UnplannedReason,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub orders: usize,
    pub planned: usize,
    pub drivers: usize,
    pub miles: f64,
    pub drive_minutes: f64,
    /// Planned stops that start after their window: none from this solver, kept for plans
    /// edited by hand.
    pub late: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SolverStatistics {
    pub generations: usize,
    pub elapsed_seconds: f64,
    /// The best solution's cost: total drive time in seconds.
    pub cost: f64,
}

/// The planner job's event.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SolveEvent {
    pub plan_id: Uuid,
}

/// Hands a queued plan to the planner job (an asynchronous Invoke: Lambda queues it and
/// retries it; the job ignores a plan that is no longer queued).
pub async fn hand_to_planner(
    state: &AppState,
    function: &str,
    plan_id: Uuid,
) -> Result<(), BoxError> {
    let event = serde_json::to_vec(&SolveEvent { plan_id })?;
    state
        .lambda
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(event))
        .send()
        .await?;
    tracing::info!(plan_id = %plan_id, function, "plan handed to the planner");
    Ok(())
}
