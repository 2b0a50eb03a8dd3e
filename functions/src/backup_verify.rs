//! `backup-verify` ops job, monthly on an EventBridge schedule: restores the newest
//! complete backup into a scratch database, compares it with the manifest, records the
//! result under `verifications/` in the backups bucket and raises or resolves the
//! `backup-verification` alert. Answers the report; fails only when it cannot run at all.

use serde_json::Value;
use shared::{
    backup::{self, verify},
    error::BoxError,
    runtime::{EventFunction, EventFuture},
    AppState,
};

use crate::deploy::{Area, Deploy, Policy, Trigger};

pub const FUNCTION: EventFunction = EventFunction::new(handler).warm_dynamodb();

pub const DEPLOY: Deploy = Deploy::job(
    Area::Operations,
    "Restores the newest backup into a scratch database, compares it with its manifest and alerts on a mismatch",
)
    .policies(&[
        Policy::DatabaseConnect,
        Policy::BackupKeyUse,
        Policy::BackupsBucketWrite,
        Policy::AppTableItems,
        Policy::MonitoringRead,
        Policy::AlertWebhookRead,
    ])
    .timeout(900)
    .memory(256)
    .no_retries()
    .triggers(&[
        Trigger::schedule(
            "Monthly",
            "cron(0 9 2 * ? *)",
            "Verify the newest backup by restoring it",
        ),
    ]);

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, _event: Value) -> Result<Value, BoxError> {
    let report = verify::run(state, chrono::Utc::now(), &backup::log_progress).await?;
    if report.ok {
        tracing::info!(backup = report.backup_id.as_deref().unwrap_or("-"), rows = report.rows_checked, "backup verified");
    } else {
        tracing::error!(problems = ?report.problems, "backup verification failed");
    }
    Ok(serde_json::to_value(report)?)
}
