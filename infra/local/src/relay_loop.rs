//! Runs the outbox relay in the background of the local gateway, as the EventBridge
//! schedule (plus post-commit invokes) does in AWS, but every second.

use std::time::Duration;

use shared::{
    runtime::{handle_event, JobLog},
    AppState,
};

pub fn spawn(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            // Failures are logged by handle_event; the next tick tries again. Runs that
            // deliver something log their own line, so idle seconds stay quiet.
            let request_id = uuid::Uuid::new_v4().to_string();
            let _ = handle_event(
                &state,
                "outbox-relay",
                &request_id,
                functions::outbox_relay::FUNCTION.handler,
                serde_json::json!({}),
                JobLog::FailuresOnly,
            )
            .await;
        }
    })
}
