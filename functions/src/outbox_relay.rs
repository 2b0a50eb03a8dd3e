//! `outbox-relay` ops job: delivers due outbox messages (partner webhooks, CaterValley's
//! status call). Runs every minute on an EventBridge schedule and may be invoked at any
//! time; runs side by side safely. Locally the gateway runs it every second.

use std::time::{Duration, Instant};

use serde_json::Value;
use shared::{error::BoxError, outbox::relay, runtime::{EventFuture, EventFunction}, AppState};

/// Stops picking new messages this long into a run, well inside the function's timeout
/// (each delivery may take up to the webhook timeout).
const RUN_BUDGET: Duration = Duration::from_secs(45);
const MAX_MESSAGES_PER_RUN: usize = 500;

pub const FUNCTION: EventFunction = EventFunction::new(handler);

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, _event: Value) -> Result<Value, BoxError> {
    let report = relay::run(state, MAX_MESSAGES_PER_RUN, Instant::now() + RUN_BUDGET).await?;
    if report != relay::RelayReport::default() {
        tracing::info!(
            delivered = report.delivered,
            retrying = report.retrying,
            dead = report.dead,
            "outbox relay run"
        );
    }
    Ok(serde_json::to_value(report)?)
}
