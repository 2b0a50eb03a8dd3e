//! `alert-evaluator` ops job: applies the alert rules (more than 5 critical or 20 high
//! errors an hour, per category) to the error store every minute on an EventBridge
//! schedule, opening, repeating and resolving alerts with their notifications, and raises
//! and resolves the alerts of deliveries predicted late. Safe to invoke by hand at any
//! time.

use serde_json::Value;
use shared::{
    drivers::delays,
    error::BoxError,
    monitoring::rules,
    runtime::{EventFunction, EventFuture},
    AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Trigger};

pub const FUNCTION: EventFunction = EventFunction::new(handler).warm_dynamodb();

pub const DEPLOY: Deploy = Deploy::job(
    Area::Operations,
    "Applies the alert rules to the error store; opens, repeats and resolves alerts",
)
    .policies(&[
        Policy::DatabaseConnect,
        Policy::AppTableItems,
        Policy::MonitoringRead,
        Policy::AlertWebhookRead,
    ])
    // Room for a few notifications to a slow webhook (3 s each); a failed run is not
    // retried, the next minute's run is the retry.
    .timeout(60)
    .no_retries()
    .environment(&[("ALERT_WEBHOOK_SECRET_ID", Cfn::Ref("AlertWebhookSecretName"))])
    .triggers(&[Trigger::schedule("EveryMinute", "rate(1 minute)", "Evaluate the alert rules")]);

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, _event: Value) -> Result<Value, BoxError> {
    let done = rules::evaluate(state, chrono::Utc::now()).await?;
    let delayed = delays::alert(state).await?;
    if done.fired + done.repeated + done.resolved + delayed.raised + delayed.resolved > 0 {
        tracing::info!(
            fired = done.fired,
            repeated = done.repeated,
            resolved = done.resolved,
            delays_raised = delayed.raised,
            delays_resolved = delayed.resolved,
            "alerts changed"
        );
    }
    let mut answer = serde_json::to_value(done)?;
    answer["delays"] = serde_json::to_value(delayed)?;
    Ok(answer)
}
