//! `backup` ops job, on the daily, weekly and monthly EventBridge schedules (the event's
//! `kind`) and by hand (`{"kind": "manual"}`): every table from one snapshot, the schema,
//! the configuration and the uploaded files, sealed and uploaded, then the manifest.
//! Refuses to run without a usable backup key.

use serde_json::Value;
use shared::{
    backup::{self, snapshot},
    error::BoxError,
    runtime::{EventFunction, EventFuture},
    AppState,
};

pub const FUNCTION: EventFunction = EventFunction::new(handler);

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, event: Value) -> Result<Value, BoxError> {
    let kind = snapshot::kind_of(&event)?;
    let report = snapshot::run(state, kind, chrono::Utc::now(), &backup::log_progress).await?;
    tracing::info!(
        manifest = %report.manifest_key,
        tables = report.totals.tables,
        rows = report.totals.rows,
        stored_bytes = report.totals.stored_bytes,
        files = report.totals.files,
        files_copied = report.totals.files_copied,
        seconds = report.seconds,
        "backup finished"
    );
    Ok(serde_json::to_value(report)?)
}
