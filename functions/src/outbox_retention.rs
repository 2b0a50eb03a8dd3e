//! `outbox-retention` ops job, daily on an EventBridge schedule: deletes outbox delivery
//! attempts older than `OUTBOX_RETENTION_DAYS` (15), then the delivered and skipped
//! messages left without any, logging each batch. Safe to invoke by hand at any time.

use serde_json::Value;
use shared::{
    error::BoxError,
    outbox::retention,
    runtime::{EventFunction, EventFuture},
    AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Trigger};

pub const FUNCTION: EventFunction = EventFunction::new(handler);

pub const DEPLOY: Deploy = Deploy::job(
    Area::Operations,
    "Deletes outbox delivery attempts and settled messages past retention",
)
    .policies(&[Policy::DatabaseConnect])
    .timeout(300)
    .no_retries()
    .environment(&[("OUTBOX_RETENTION_DAYS", Cfn::Ref("OutboxRetentionDays"))])
    .triggers(&[
        Trigger::schedule(
            "Daily",
            "cron(45 3 * * ? *)",
            "Delete outbox attempts and settled messages past retention",
        ),
    ]);

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, _event: Value) -> Result<Value, BoxError> {
    let pruned = retention::prune(state, chrono::Utc::now()).await?;
    tracing::info!(
        attempts = pruned.attempts,
        messages = pruned.messages,
        "outbox retention finished"
    );
    Ok(serde_json::to_value(pruned)?)
}
