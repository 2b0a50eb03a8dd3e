//! Waking the relay after a commit. [`super::enqueue`] notes on the running request that
//! it wrote messages; once the request has answered without a server error (so its
//! transaction committed), the runtime calls [`wake_relay`], an asynchronous Invoke of the
//! relay function (`OUTBOX_RELAY_FUNCTION`). A failed wake is logged and costs nothing
//! else: the relay's schedule still delivers within a minute. A wake after a rolled-back
//! transaction finds nothing due, which is harmless.

use std::cell::Cell;

use aws_sdk_lambda::{primitives::Blob, types::InvocationType};

use crate::AppState;

tokio::task_local! {
    static ENQUEUED: Cell<bool>;
}

/// Runs `work` (one request's handler), answering whether it enqueued outbox messages.
pub async fn tracking<F: std::future::Future>(work: F) -> (F::Output, bool) {
    ENQUEUED
        .scope(Cell::new(false), async move {
            let output = work.await;
            (output, ENQUEUED.with(Cell::get))
        })
        .await
}

/// Called by `enqueue`: outside [`tracking`] (jobs, tests) there is nothing to note.
pub(super) fn note_enqueued() {
    let _ = ENQUEUED.try_with(|enqueued| enqueued.set(true));
}

/// What the relay is invoked with, so its log says why it ran.
pub const WAKE_EVENT: &[u8] = br#"{"source":"readyset.outbox-wake"}"#;

/// Invokes the relay asynchronously, if one is configured; `true` when Lambda took it.
#[tracing::instrument(skip_all)]
pub async fn wake_relay(state: &AppState) -> bool {
    let Some(function) = &state.config.outbox.relay_function else {
        return false;
    };
    let invoked = state
        .lambda
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(WAKE_EVENT))
        .send()
        .await;
    match invoked {
        Ok(_) => {
            tracing::info!(function = %function, "outbox relay woken");
            true
        }
        Err(err) => {
            tracing::warn!(function = %function, error = %crate::error::chain(&err),
                "could not wake the outbox relay; its schedule will deliver");
            false
        }
    }
}
