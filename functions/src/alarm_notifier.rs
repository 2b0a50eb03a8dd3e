//! `alarm-notifier`: subscribed to the alarms SNS topic, it turns each CloudWatch alarm
//! state change into an alert (`ALARM` fires, `OK` resolves, `INSUFFICIENT_DATA` is
//! noted) and forwards it to the chat webhook. Malformed records are logged and
//! skipped, never retried.

use serde_json::Value;
use shared::{
    error::BoxError,
    monitoring::alarms,
    runtime::{EventFunction, EventFuture},
    AppState,
};

pub const FUNCTION: EventFunction = EventFunction::new(handler).warm_dynamodb();

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, event: Value) -> Result<Value, BoxError> {
    let handled = alarms::handle(state, &event, chrono::Utc::now()).await?;
    tracing::info!(
        fired = handled.fired,
        resolved = handled.resolved,
        insufficient_data = handled.insufficient_data,
        skipped = handled.skipped,
        "alarm notification handled"
    );
    Ok(serde_json::to_value(handled)?)
}
