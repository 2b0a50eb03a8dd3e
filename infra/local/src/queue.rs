//! Delivers the offer-expiry queue to `dispatch-offer-expire` in the background of the
//! local gateway, as Lambda's event source mapping does in AWS: polls the queue in the
//! emulator, hands each batch to the function as an SQS event, and deletes the messages
//! it did not report as failed (those come back after their visibility timeout).
//!
//! It polls short and sleeps between empty polls rather than long-polling: the emulator
//! serves one request at a time, and a receive waiting for messages there would hold up
//! every other call (each offer's send waited a second behind it in the benchmark).

use std::time::Duration;

use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use serde_json::{json, Value};
use shared::{
    runtime::{handle_event, JobLog},
    AppState,
};

/// How long to wait after a poll that found nothing.
const IDLE: Duration = Duration::from_millis(250);
/// How long a received message stays hidden before it is delivered again.
const VISIBILITY_SECONDS: i32 = 30;

/// Pollers side by side, as Lambda's event source mapping starts with five for a standard
/// queue: one poller handing batches to the function one at a time fell behind a lunch
/// rush's expiries, and the sweep then expired them a minute late.
const POLLERS: usize = 5;

/// Polls the configured offer-expiry queue until the handle is aborted; `None` without one.
pub fn offer_expiries(state: AppState) -> Option<tokio::task::JoinHandle<()>> {
    let queue = state.config.drivers.offer_expiry_queue.clone()?;
    Some(tokio::spawn(async move {
        // Dropped with this task when it is aborted, which aborts the pollers.
        let mut pollers = tokio::task::JoinSet::new();
        for _ in 0..POLLERS {
            let (state, queue) = (state.clone(), queue.clone());
            pollers.spawn(async move { poll(&state, &queue).await });
        }
        while pollers.join_next().await.is_some() {}
    }))
}

async fn poll(state: &AppState, queue: &str) {
    loop {
        match deliver_once(state, queue).await {
            Ok(0) => tokio::time::sleep(IDLE).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "receiving offer expiries failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// One poll and its batch delivered; how many messages it received.
async fn deliver_once(state: &AppState, queue: &str) -> Result<usize, shared::error::BoxError> {
    let received = state
        .sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .wait_time_seconds(0)
        .visibility_timeout(VISIBILITY_SECONDS)
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
    let messages = received.messages();
    if messages.is_empty() {
        return Ok(0);
    }
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "eventSource": "aws:sqs",
            })
        })
        .collect();
    let request_id = uuid::Uuid::new_v4().to_string();
    let answer = handle_event(
        state,
        "dispatch-offer-expire",
        &request_id,
        functions::dispatch_offer_expire::FUNCTION.handler,
        json!({ "Records": records }),
        JobLog::FailuresOnly,
    )
    .await;
    // A failed invocation leaves every message for redelivery, as in AWS.
    let Ok(answer) = answer else {
        return Ok(messages.len());
    };
    let failed: Vec<&str> = answer["batchItemFailures"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["itemIdentifier"].as_str())
                .collect()
        })
        .unwrap_or_default();
    let done: Vec<DeleteMessageBatchRequestEntry> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| !failed.contains(&m.message_id().unwrap_or_default()))
        .filter_map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .set_receipt_handle(m.receipt_handle().map(str::to_owned))
                .build()
                .ok()
        })
        .collect();
    if !done.is_empty() {
        state
            .sqs
            .delete_message_batch()
            .queue_url(queue)
            .set_entries(Some(done))
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
    }
    Ok(messages.len())
}
