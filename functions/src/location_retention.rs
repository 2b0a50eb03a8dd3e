//! `location-retention` ops job, daily on an EventBridge schedule: creates the coming
//! week's daily partitions of the driver track and drops whole days older than
//! `LOCATION_RETENTION_DAYS` (30), logging each. Safe to invoke by hand at any time.

use serde_json::Value;
use shared::{
    drivers::locations,
    error::BoxError,
    runtime::{EventFunction, EventFuture},
    AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Trigger};

pub const FUNCTION: EventFunction = EventFunction::new(handler);

pub const DEPLOY: Deploy = Deploy::job(
    Area::Drivers,
    "Creates the coming days' location partitions and drops days past retention",
)
    .policies(&[Policy::DatabaseConnect])
    .timeout(120)
    .no_retries()
    .environment(&[("LOCATION_RETENTION_DAYS", Cfn::Ref("LocationRetentionDays"))])
    .triggers(&[
        Trigger::schedule(
            "Daily",
            "cron(15 3 * * ? *)",
            "Create coming location partitions, drop expired ones",
        ),
    ]);

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, _event: Value) -> Result<Value, BoxError> {
    let report = locations::retain(state, chrono::Utc::now()).await?;
    tracing::info!(
        created = report.created,
        dropped = report.dropped.len(),
        kept = report.kept,
        "location retention finished"
    );
    Ok(serde_json::to_value(report)?)
}
