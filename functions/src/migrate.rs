//! `migrate` ops job: applies pending schema migrations. Run by the deploy pipeline after
//! each release and by the local scripts; running it again is a no-op.

use serde_json::{json, Value};
use shared::{db, error::BoxError, runtime::{EventFuture, EventFunction}, AppState};

use crate::deploy::{Area, Deploy, Policy};

pub const FUNCTION: EventFunction = EventFunction::new(handler);

pub const DEPLOY: Deploy = Deploy::job(
    Area::Operations,
    "Applies pending schema migrations; invoked by the deploy pipeline",
)
    .policies(&[Policy::DatabaseConnect, Policy::AppTableItems])
    .timeout(300)
    .output("The migrate function's live alias (the pipeline invokes it after each release)");

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(migrate(state, event))
}

async fn migrate(state: &AppState, _event: Value) -> Result<Value, BoxError> {
    let mut client = state.db.get().await?;
    let applied = db::migrate(client.raw()).await?;
    tracing::info!(applied = ?applied, "migrations applied");
    Ok(json!({ "applied": applied, "latestVersion": db::latest_migration_version() }))
}
