//! `dispatch-plan-solve` job (the planner): solves one queued dispatch plan,
//! `{"planId": "..."}`, within the plan's budget, writing the search's progress and then
//! its routes to the plan. Invoked asynchronously by `POST /api/dispatch/plans`; a plan
//! no longer queued (a duplicate delivery) is left alone, and a failure is recorded on
//! the plan rather than retried.

use serde_json::Value;
use shared::{
    error::BoxError,
    planning::{solve, SolveEvent},
    runtime::{EventFuture, EventFunction},
    AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy};

pub const FUNCTION: EventFunction = EventFunction::new(handler);

pub const DEPLOY: Deploy = Deploy::job(
    Area::Drivers,
    "Solves a queued dispatch plan into drivers' routes within its time budget",
)
    // The Google key, for road travel times when the deployment uses Google.
    .policies(&[Policy::DatabaseConnect, Policy::MapsKeyRead])
    // The longest budget (840 s) plus loading and storing; 1 GB holds a 2,000-order day.
    .timeout(900)
    .memory(1024)
    .no_retries()
    // Named so the plans route can invoke it (PLANNER_FUNCTION).
    .named(Cfn::Sub("readyset-${Stage}-planner"));

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, event: Value) -> Result<Value, BoxError> {
    let event: SolveEvent = serde_json::from_value(event)?;
    let status = solve::run(state, event.plan_id).await?;
    Ok(serde_json::json!({ "planId": event.plan_id, "status": status }))
}
