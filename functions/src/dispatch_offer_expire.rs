//! `dispatch-offer-expire` job, fed by the offer-expiry queue: each message names an
//! offer whose acceptance window has just closed (sent delayed until then when the offer
//! was made). An offer still pending expires and its order goes to the next driver; one
//! already answered, or a duplicate delivery, changes nothing. Records that fail are
//! reported back, so only they are delivered again (then to the dead-letter queue).

use serde_json::{json, Value};
use shared::{
    autodispatch::{answers, expiry},
    error::BoxError,
    runtime::{EventFunction, EventFuture},
    AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Trigger};

pub const FUNCTION: EventFunction = EventFunction::new(handler);

pub const DEPLOY: Deploy = Deploy::job(
    Area::Drivers,
    "Expires auto-dispatch offers at their deadline and offers their orders to the next driver",
)
    .policies(&[Policy::DatabaseConnect, Policy::OfferExpirySend])
    .timeout(60)
    .environment(&[("OFFER_EXPIRY_QUEUE_URL", Cfn::Ref("OfferExpiryQueue"))])
    .triggers(&[Trigger::sqs("Expiries", "OfferExpiryQueueArn")]);

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, event: Value) -> Result<Value, BoxError> {
    let mut failures = Vec::new();
    for record in expiry::records(&event) {
        let Some(message) = expiry::message(&record) else {
            continue;
        };
        if let Err(e) = answers::expire(state, message.offer_id).await {
            tracing::error!(error = %e, offer_id = %message.offer_id, "expiring the offer failed; delivered again");
            failures.push(json!({ "itemIdentifier": record.message_id }));
        }
    }
    Ok(json!({ "batchItemFailures": failures }))
}
