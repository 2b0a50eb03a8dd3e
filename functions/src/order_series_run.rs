//! `order-series-run` job, hourly on an EventBridge schedule: places each active
//! recurring series' orders for its dates up to its horizon, once per date; a date the
//! order rules refuse is recorded, emailed to the client and alerted to staff
//! ([`shared::series::materialize`]). Safe to invoke by hand at any time.

use serde_json::Value;
use shared::{
    error::BoxError,
    runtime::{EventFunction, EventFuture},
    series::materialize,
    AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Trigger};

pub const FUNCTION: EventFunction = EventFunction::new(handler).warm_dynamodb();

pub const DEPLOY: Deploy = Deploy::job(
    Area::Operations,
    "Places recurring catering series' orders up to their horizon",
)
    .policies(&[
        Policy::DatabaseConnect,
        Policy::AppTableItems,
        Policy::AlertWebhookRead,
        Policy::MapsKeyRead,
    ])
    .timeout(300)
    .no_retries()
    .environment(&[("ALERT_WEBHOOK_SECRET_ID", Cfn::Ref("AlertWebhookSecretName"))])
    .triggers(&[Trigger::schedule(
        "Hourly",
        "rate(1 hour)",
        "Place recurring series' orders up to their horizon",
    )]);

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, _event: Value) -> Result<Value, BoxError> {
    let run = materialize::run(state, chrono::Utc::now()).await?;
    Ok(serde_json::to_value(run)?)
}
