//! `outbox-relay` ops job: delivers due outbox messages (partner webhooks, CaterValley's
//! status call, customer emails and texts, driver pushes). Runs every minute on an EventBridge schedule and may be invoked at any
//! time; runs side by side safely. Locally the gateway runs it every second.

use std::time::{Duration, Instant};

use serde_json::Value;
use shared::{error::BoxError, outbox::relay, runtime::{EventFuture, EventFunction}, AppState};

use crate::deploy::{Area, Cfn, Deploy, LogMetric, Policy, Statement, Trigger};

/// Stops picking new messages this long into a run, well inside the function's timeout
/// (each delivery may take up to the webhook timeout).
const RUN_BUDGET: Duration = Duration::from_secs(45);
const MAX_MESSAGES_PER_RUN: usize = 500;

pub const FUNCTION: EventFunction = EventFunction::new(handler).warm_signing_key();

pub const DEPLOY: Deploy = Deploy::job(
    Area::Operations,
    "Delivers outbox messages (signed partner webhooks, CaterValley status calls, customer emails and texts, driver pushes)",
)
    .policies(&[
        Policy::DatabaseConnect,
        Policy::AppTableItems,
        Policy::PartnerSecretsRead,
        // Customer messages' tracking links are signed as they are sent.
        Policy::SigningKeyRead,
        Policy::Allow(&[
            Statement::allow(
                &["ses:SendEmail"],
                &[
                    Cfn::Sub(
                        "arn:aws:ses:${AWS::Region}:${AWS::AccountId}:identity/${NotificationSenderAddress}",
                    ),
                ],
            ),
            Statement::allow(
                &["sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"],
                &[Cfn::Text("*")],
            )
            .because("texts go to phone numbers, which are not resources IAM can name"),
            Statement::allow(
                &["secretsmanager:GetSecretValue"],
                &[
                    Cfn::Sub(
                        "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${DriverPushSecretName}-*",
                    ),
                ],
            ),
        ]),
    ])
    .timeout(60)
    .environment(&[
        ("NOTIFICATION_SENDER", Cfn::Sub("Ready Set <${NotificationSenderAddress}>")),
        ("DRIVER_PUSH_URL", Cfn::Ref("DriverPushUrl")),
        ("DRIVER_PUSH_SECRET_ID", Cfn::Ref("DriverPushSecretName")),
        ("CUSTOMER_SMS", Cfn::Ref("CustomerSms")),
        ("TRACKING_PAGE_URL", Cfn::Ref("TrackingPageUrl")),
    ])
    .triggers(&[
        Trigger::schedule(
            "EveryMinute",
            "rate(1 minute)",
            "Deliver due partner webhooks and status calls",
        ),
    ])
    // Named so that others can wake it (OUTBOX_RELAY_FUNCTION). Not the name it had in the
    // single-stack template: the area stack is created before the parent's old function is
    // deleted, and two functions cannot hold one name.
    .named(Cfn::Sub("readyset-${Stage}-relay"))
    // Every committed status change wakes it: a burst of wakes runs at most this many
    // relays at once (Lambda retries throttled asynchronous invokes), each with its own
    // database connection; SKIP LOCKED keeps them from delivering a message twice.
    .reserved_concurrency(3)
    .log_metrics(&[
        LogMetric {
            logical_id: "OutboxDeadMessagesMetric",
            metric: "OutboxDeadMessages",
            pattern: r#"{ $.alert = "outbox_dead_message" }"#,
        },
    ]);

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, _event: Value) -> Result<Value, BoxError> {
    let report = relay::run(state, MAX_MESSAGES_PER_RUN, Instant::now() + RUN_BUDGET).await?;
    if report != relay::RelayReport::default() {
        tracing::info!(
            delivered = report.delivered,
            retrying = report.retrying,
            dead = report.dead,
            skipped = report.skipped,
            "outbox relay run"
        );
    }
    Ok(serde_json::to_value(report)?)
}
