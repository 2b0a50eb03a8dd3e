//! The local stand-in for CloudWatch Logs' metric extraction. In Lambda the functions
//! print Embedded Metric Format documents and CloudWatch Logs turns them into metrics;
//! here the gateway's functions hand the same documents over a channel, and this puts
//! their metrics into the emulator's CloudWatch with `PutMetricData`, in batches. What
//! reads them back (`/api/admin/logs`) then works as it does in AWS.

use std::time::Duration;

use aws_sdk_cloudwatch::{
    primitives::DateTime,
    types::{Dimension, MetricDatum, StandardUnit},
};
use serde_json::Value;
use shared::AppState;
use tokio::sync::mpsc;

/// Datums per `PutMetricData` call (CloudWatch takes up to 1,000).
const BATCH: usize = 500;
/// How long a document waits for its batch to fill.
const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// `state` with its metrics extracted into the emulator, and the task doing it (it ends
/// when every copy of the returned state is dropped).
pub fn extract_into_cloudwatch(state: AppState) -> AppState {
    let (documents, mut received) = mpsc::unbounded_channel::<Value>();
    let mut state = state;
    state.metrics = state.metrics.extracted_by(documents);
    let cloudwatch = state.cloudwatch.clone();
    let namespace = state.metrics.namespace().to_owned();
    tokio::spawn(async move {
        let mut pending: Vec<MetricDatum> = Vec::new();
        let mut oldest: Option<std::time::Instant> = None;
        loop {
            let timed_out = match tokio::time::timeout(FLUSH_EVERY, received.recv()).await {
                Ok(Some(doc)) => {
                    pending.extend(datums(&doc));
                    oldest.get_or_insert_with(std::time::Instant::now);
                    false
                }
                Ok(None) => {
                    flush(&cloudwatch, &namespace, &mut pending).await;
                    return;
                }
                Err(_elapsed) => true,
            };
            let due = oldest.is_some_and(|at| at.elapsed() >= FLUSH_EVERY);
            if timed_out || due || pending.len() >= BATCH {
                flush(&cloudwatch, &namespace, &mut pending).await;
                oldest = None;
            }
        }
    });
    state
}

async fn flush(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    pending: &mut Vec<MetricDatum>,
) {
    while !pending.is_empty() {
        let batch: Vec<MetricDatum> = pending.drain(..pending.len().min(BATCH)).collect();
        let put = cloudwatch
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(batch))
            .send()
            .await;
        if let Err(err) = put {
            tracing::warn!(error = %shared::error::chain(&err), "local metrics: PutMetricData failed");
        }
    }
}

/// The metric datums of one EMF document, as CloudWatch Logs extracts them: every metric
/// of every directive, once per dimension set, dimensions valued from the document.
pub fn datums(doc: &Value) -> Vec<MetricDatum> {
    let timestamp = doc
        .pointer("/_aws/Timestamp")
        .and_then(Value::as_i64)
        .map(DateTime::from_millis);
    let mut out = Vec::new();
    let directives = doc
        .pointer("/_aws/CloudWatchMetrics")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for directive in directives {
        let sets = directive["Dimensions"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let metrics = directive["Metrics"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for set in sets {
            let dimensions: Vec<Dimension> = set
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|name| {
                    let value = doc[name].as_str()?;
                    Some(Dimension::builder().name(name).value(value).build())
                })
                .collect();
            for metric in metrics {
                let (Some(name), Some(value)) = (
                    metric["Name"].as_str(),
                    metric["Name"].as_str().and_then(|n| doc[n].as_f64()),
                ) else {
                    continue;
                };
                out.push(
                    MetricDatum::builder()
                        .metric_name(name)
                        .set_dimensions(Some(dimensions.clone()))
                        .value(value)
                        .unit(StandardUnit::from(
                            metric["Unit"].as_str().unwrap_or("None"),
                        ))
                        .set_timestamp(timestamp)
                        .build(),
                );
            }
        }
    }
    out
}
