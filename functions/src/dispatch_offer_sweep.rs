//! `dispatch-offer-sweep` job, each minute on an EventBridge schedule: the safety net of
//! auto-dispatch. Offers past their time expire and go to the next driver, orders that
//! need a driver and have no offer are offered (catering orders entering their horizon,
//! orders whose offer failed), new escalations raise their alerts, and escalations whose
//! orders have a driver again resolve them. Safe to invoke by hand at any time.

use serde_json::Value;
use shared::{
    autodispatch::sweep::sweep,
    error::BoxError,
    runtime::{EventFunction, EventFuture},
    AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Trigger};

pub const FUNCTION: EventFunction = EventFunction::new(handler).warm_dynamodb();

pub const DEPLOY: Deploy = Deploy::job(
    Area::Operations,
    "Expires lapsed offers, offers orders that need a driver, alerts on escalations",
)
    .policies(&[
        Policy::DatabaseConnect,
        Policy::AppTableItems,
        Policy::AlertWebhookRead,
        Policy::OfferExpirySend,
    ])
    // A run offers at most a few hundred orders; the next minute's run is the retry.
    .timeout(60)
    .no_retries()
    .environment(&[
        ("ALERT_WEBHOOK_SECRET_ID", Cfn::Ref("AlertWebhookSecretName")),
        ("OFFER_EXPIRY_QUEUE_URL", Cfn::Ref("OfferExpiryQueue")),
    ])
    .triggers(&[Trigger::schedule(
        "EveryMinute",
        "rate(1 minute)",
        "Expire lapsed offers and offer orders that need a driver",
    )]);

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, _event: Value) -> Result<Value, BoxError> {
    Ok(serde_json::to_value(sweep(state).await?)?)
}
