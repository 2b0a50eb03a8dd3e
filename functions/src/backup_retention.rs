//! `backup-retention` ops job, daily on an EventBridge schedule: removes backups past
//! their kind's retention (never the newest of a kind), unfinished backups and file copies
//! no manifest lists, logging each.

use serde_json::Value;
use shared::{
    backup::retention,
    error::BoxError,
    runtime::{EventFunction, EventFuture},
    AppState,
};

pub const FUNCTION: EventFunction = EventFunction::new(handler);

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, _event: Value) -> Result<Value, BoxError> {
    let report = retention::apply(state, chrono::Utc::now()).await?;
    tracing::info!(
        kept = report.kept,
        removed = report.removed.len(),
        unfinished_removed = report.unfinished_removed.len(),
        file_copies_removed = report.file_copies_removed,
        "backup retention finished"
    );
    Ok(serde_json::to_value(report)?)
}
