//! `sms-inbound`: subscribed to the topic two-way SMS publishes our number's incoming
//! texts to. A stop keyword puts the sender's number on the opt-out list, a start keyword
//! takes it off (see `shared::outbox::opt_outs`); other replies are logged. Malformed
//! records are logged and skipped, never retried.

use serde_json::Value;
use shared::{
    error::BoxError,
    outbox::opt_outs,
    runtime::{event_of, EventFunction, EventFuture},
    sns::SnsDelivery,
    AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Statement, Trigger};

pub const FUNCTION: EventFunction = EventFunction::new(handler);

pub const DEPLOY: Deploy = Deploy::job(
    Area::Operations,
    "Customers' STOP and START replies to our texts, from SNS, kept on the opt-out list",
)
.policies(&[
    Policy::DatabaseConnect,
    Policy::Allow(&[Statement::allow(&["sns:OptInPhoneNumber"], &[Cfn::Text("*")])
        .because("a START reply takes the number off SNS's own opt-out list too")]),
])
.timeout(30)
.triggers(&[Trigger::sns("Replies", "SmsReplyTopic")]);

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, event: Value) -> Result<Value, BoxError> {
    let delivery: SnsDelivery = event_of(event)?;
    let replies = opt_outs::handle(state, &delivery).await?;
    tracing::info!(
        opted_out = replies.opted_out,
        opted_in = replies.opted_in,
        other = replies.other,
        skipped = replies.skipped,
        "SMS replies handled"
    );
    Ok(serde_json::to_value(replies)?)
}
