//! Runs the ops jobs EventBridge schedules in AWS in the background of the local
//! gateway: the outbox relay every second (in AWS every minute, plus post-commit
//! invokes), the alert evaluator and the auto-dispatch sweep every minute, and the upload
//! cleanup and the location retention every hour (daily in AWS), each with the event its
//! schedule sends.

use std::time::Duration;

use shared::{
    runtime::{handle_event, EventHandler, JobLog},
    AppState,
};

/// Runs `job` every `every` until the handle is aborted or the runtime stops.
pub fn every(
    state: AppState,
    job: &'static str,
    handler: EventHandler,
    every: Duration,
    event: serde_json::Value,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            // Failures are logged by handle_event; the next tick tries again. Runs that
            // change something log their own line, so idle ticks stay quiet.
            let request_id = uuid::Uuid::new_v4().to_string();
            let _ = handle_event(
                &state,
                job,
                &request_id,
                handler,
                event.clone(),
                JobLog::FailuresOnly,
            )
            .await;
        }
    })
}

/// The outbox relay, every `period`.
pub fn relay(state: AppState, period: Duration) -> tokio::task::JoinHandle<()> {
    every(
        state,
        "outbox-relay",
        functions::outbox_relay::FUNCTION.handler,
        period,
        serde_json::json!({}),
    )
}

/// The alert evaluator, every minute as in AWS.
pub fn alert_evaluator(state: AppState) -> tokio::task::JoinHandle<()> {
    every(
        state,
        "alert-evaluator",
        functions::alert_evaluator::FUNCTION.handler,
        Duration::from_secs(60),
        serde_json::json!({}),
    )
}

/// The auto-dispatch sweep, every minute as in AWS.
pub fn offer_sweep(state: AppState) -> tokio::task::JoinHandle<()> {
    every(
        state,
        "dispatch-offer-sweep",
        functions::dispatch_offer_sweep::FUNCTION.handler,
        Duration::from_secs(60),
        SCHEDULED.clone(),
    )
}

/// The location retention (the coming days' partitions, expired days dropped), hourly.
pub fn location_retention(state: AppState) -> tokio::task::JoinHandle<()> {
    every(
        state,
        "location-retention",
        functions::location_retention::FUNCTION.handler,
        Duration::from_secs(3600),
        SCHEDULED.clone(),
    )
}

/// What EventBridge sends a scheduled function.
static SCHEDULED: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(
    || serde_json::json!({ "source": "aws.events", "detail-type": "Scheduled Event" }),
);

/// The upload cleanup, hourly, as a scheduled run (not the dry run of a manual invoke).
pub fn upload_cleanup(state: AppState) -> tokio::task::JoinHandle<()> {
    every(
        state,
        "upload-cleanup",
        functions::upload_cleanup::FUNCTION.handler,
        Duration::from_secs(3600),
        SCHEDULED.clone(),
    )
}
