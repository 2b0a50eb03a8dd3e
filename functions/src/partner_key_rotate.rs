//! `partner-key-rotate` ops job, invoked by hand: `{partner, overlapHours?}` gives the
//! partner a new API key at once and keeps the replaced one valid for the overlap (a week
//! unless told; 0 ends it at once), so the partner switches without a refused call.
//! Answers `{partner, apiKey, previousKeyValidUntil}`: the key is shown only here.

use serde_json::Value;
use shared::{
    error::BoxError,
    partners::keys::{rotate, Rotation},
    runtime::{EventFunction, EventFuture},
    AppState,
};

use crate::deploy::{Area, Deploy, Policy};

pub const FUNCTION: EventFunction = EventFunction::new(handler);

pub const DEPLOY: Deploy = Deploy::job(
    Area::Operations,
    "Gives a partner a new API key, the replaced one valid for an overlap (invoked by hand)",
)
    .policies(&[Policy::DatabaseConnect])
    .no_retries();

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, event: Value) -> Result<Value, BoxError> {
    let rotation: Rotation = serde_json::from_value(event)?;
    Ok(serde_json::to_value(rotate(state, &rotation).await?)?)
}
