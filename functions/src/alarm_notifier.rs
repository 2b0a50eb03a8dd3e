//! `alarm-notifier`: subscribed to the alarms SNS topic, it turns each CloudWatch alarm
//! state change into an alert (`ALARM` fires, `OK` resolves, `INSUFFICIENT_DATA` is
//! noted) and forwards it to the chat webhook. Malformed records are logged and
//! skipped, never retried.

use serde_json::Value;
use shared::{
    error::BoxError,
    monitoring::alarms,
    runtime::{event_of, EventFunction, EventFuture},
    sns::SnsDelivery,
    AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Trigger};

pub const FUNCTION: EventFunction = EventFunction::new(handler).warm_dynamodb();

pub const DEPLOY: Deploy = Deploy::job(
    Area::Operations,
    "CloudWatch alarm state changes from SNS become alerts and go to the chat webhook",
)
.policies(&[
    Policy::DatabaseConnect,
    Policy::AppTableItems,
    Policy::AlertWebhookRead,
])
.timeout(60)
.environment(&[(
    "ALERT_WEBHOOK_SECRET_ID",
    Cfn::Ref("AlertWebhookSecretName"),
)])
.triggers(&[Trigger::sns("Alarms", "AlarmTopic")]);

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, event: Value) -> Result<Value, BoxError> {
    let delivery: SnsDelivery = event_of(event)?;
    let handled = alarms::handle(state, &delivery, chrono::Utc::now()).await?;
    tracing::info!(
        fired = handled.fired,
        resolved = handled.resolved,
        insufficient_data = handled.insufficient_data,
        skipped = handled.skipped,
        "alarm notification handled"
    );
    Ok(serde_json::to_value(handled)?)
}
