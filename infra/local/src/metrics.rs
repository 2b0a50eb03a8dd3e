//! The local stand-in for CloudWatch Logs' metric extraction. In Lambda the functions
//! print Embedded Metric Format documents and CloudWatch Logs turns them into metrics;
//! here the gateway's functions hand the same documents over a channel, and this puts
//! their metrics into the emulator's CloudWatch with `PutMetricData`. What reads them
//! back (`/api/admin/logs`) then works as it does in AWS.
//!
//! Each flush sends one statistic set per series and minute (count, sum, minimum,
//! maximum), not one datum per request: CloudWatch keeps standard-resolution metrics at
//! that grain anyway, and a request's twenty-odd datums would otherwise make the
//! emulator parse thousands a second under load.

use std::{collections::BTreeMap, time::Duration};

use aws_sdk_cloudwatch::{
    primitives::DateTime,
    types::{Dimension, MetricDatum, StandardUnit, StatisticSet},
};
use serde_json::Value;
use shared::AppState;
use tokio::sync::mpsc;

/// Datums per `PutMetricData` call (CloudWatch takes up to 1,000).
const BATCH: usize = 500;
/// How long a document waits for its flush.
const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// A metric with its dimension values and unit: what CloudWatch aggregates by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Series {
    pub name: String,
    pub dimensions: Vec<(String, String)>,
    pub unit: String,
}

/// One value of a series at a moment (milliseconds since the epoch; none for now).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub series: Series,
    pub at_millis: Option<i64>,
    pub value: f64,
}

/// The samples of one series in one minute, as a statistic set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    fn of(value: f64) -> Self {
        Self {
            count: 1.0,
            sum: value,
            min: value,
            max: value,
        }
    }

    fn add(&mut self, value: f64) {
        self.count += 1.0;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }
}

/// Samples waiting for the next flush, summed per series and minute.
#[derive(Debug, Default)]
pub struct Pending {
    by_minute: BTreeMap<(Series, Option<i64>), Summary>,
}

impl Pending {
    pub fn add(&mut self, sample: Sample) {
        // The minute the sample falls in; an unstamped one is stamped on arrival.
        let minute = sample.at_millis.map(|at| at - at.rem_euclid(60_000));
        self.by_minute
            .entry((sample.series, minute))
            .and_modify(|summary| summary.add(sample.value))
            .or_insert_with(|| Summary::of(sample.value));
    }

    pub fn len(&self) -> usize {
        self.by_minute.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_minute.is_empty()
    }

    /// The datums to send, one per series and minute; empties the set.
    pub fn take(&mut self) -> Vec<MetricDatum> {
        std::mem::take(&mut self.by_minute)
            .into_iter()
            .map(|((series, minute), summary)| datum(series, minute, summary))
            .collect()
    }
}

fn datum(series: Series, minute: Option<i64>, summary: Summary) -> MetricDatum {
    let dimensions = series
        .dimensions
        .into_iter()
        .map(|(name, value)| Dimension::builder().name(name).value(value).build())
        .collect();
    MetricDatum::builder()
        .metric_name(series.name)
        .set_dimensions(Some(dimensions))
        .statistic_values(
            StatisticSet::builder()
                .sample_count(summary.count)
                .sum(summary.sum)
                .minimum(summary.min)
                .maximum(summary.max)
                .build(),
        )
        .unit(StandardUnit::from(series.unit.as_str()))
        .set_timestamp(minute.map(DateTime::from_millis))
        .build()
}

/// `state` with its metrics extracted into the emulator, and the task doing it (it ends
/// when every copy of the returned state is dropped).
pub fn extract_into_cloudwatch(state: AppState) -> AppState {
    let (documents, mut received) = mpsc::unbounded_channel::<Value>();
    let mut state = state;
    state.metrics = state.metrics.extracted_by(documents);
    let cloudwatch = state.cloudwatch.clone();
    let namespace = state.metrics.namespace().to_owned();
    tokio::spawn(async move {
        let mut pending = Pending::default();
        let mut oldest: Option<std::time::Instant> = None;
        loop {
            let timed_out = match tokio::time::timeout(FLUSH_EVERY, received.recv()).await {
                Ok(Some(doc)) => {
                    for sample in samples(&doc) {
                        pending.add(sample);
                    }
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

async fn flush(cloudwatch: &aws_sdk_cloudwatch::Client, namespace: &str, pending: &mut Pending) {
    if pending.is_empty() {
        return;
    }
    let mut datums = pending.take();
    while !datums.is_empty() {
        let batch: Vec<MetricDatum> = datums.drain(..datums.len().min(BATCH)).collect();
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

/// The metric samples of one EMF document, as CloudWatch Logs extracts them: every metric
/// of every directive, once per dimension set, dimensions valued from the document.
pub fn samples(doc: &Value) -> Vec<Sample> {
    let at_millis = doc.pointer("/_aws/Timestamp").and_then(Value::as_i64);
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
            let dimensions: Vec<(String, String)> = set
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|name| Some((name.to_owned(), doc[name].as_str()?.to_owned())))
                .collect();
            for metric in metrics {
                let (Some(name), Some(value)) = (
                    metric["Name"].as_str(),
                    metric["Name"].as_str().and_then(|n| doc[n].as_f64()),
                ) else {
                    continue;
                };
                out.push(Sample {
                    series: Series {
                        name: name.to_owned(),
                        dimensions: dimensions.clone(),
                        unit: metric["Unit"].as_str().unwrap_or("None").to_owned(),
                    },
                    at_millis,
                    value,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{samples, Pending};

    /// An EMF document of one request, as `shared::metrics` writes it, at `at_millis`.
    fn request(route: &str, latency: f64, at_millis: i64) -> serde_json::Value {
        json!({
            "_aws": {
                "Timestamp": at_millis,
                "CloudWatchMetrics": [{
                    "Namespace": "ReadySet",
                    "Dimensions": [["Route"], []],
                    "Metrics": [{"Name": "Requests", "Unit": "Count"},
                                {"Name": "Latency", "Unit": "Milliseconds"}],
                }],
            },
            "Route": route,
            "Requests": 1,
            "Latency": latency,
        })
    }

    #[test]
    fn each_metric_is_sampled_once_per_dimension_set() {
        let sampled = samples(&request("GET /api/orders", 12.5, 60_000));
        let names: Vec<(&str, usize)> = sampled
            .iter()
            .map(|s| (s.series.name.as_str(), s.series.dimensions.len()))
            .collect();
        assert_eq!(
            names,
            [
                ("Requests", 1),
                ("Latency", 1),
                ("Requests", 0),
                ("Latency", 0)
            ]
        );
        assert_eq!(sampled[1].value, 12.5);
        assert_eq!(sampled[1].series.unit, "Milliseconds");
    }

    #[test]
    fn a_flush_sends_one_statistic_set_per_series_and_minute() {
        let mut pending = Pending::default();
        // Three requests in the first minute on one route, one in the next minute and
        // one on another route.
        for (route, latency, at) in [
            ("GET /api/orders", 10.0, 60_000),
            ("GET /api/orders", 30.0, 61_000),
            ("GET /api/orders", 20.0, 119_999),
            ("GET /api/orders", 5.0, 120_000),
            ("GET /api/users", 7.0, 60_500),
        ] {
            for sample in samples(&request(route, latency, at)) {
                pending.add(sample);
            }
        }
        let datums = pending.take();
        assert!(pending.is_empty());
        let latency_on_orders: Vec<_> = datums
            .iter()
            .filter(|d| d.metric_name() == Some("Latency"))
            .filter(|d| {
                d.dimensions()
                    .iter()
                    .any(|x| x.value() == Some("GET /api/orders"))
            })
            .map(|d| {
                let stats = d.statistic_values().expect("a statistic set");
                (
                    d.timestamp().map(|t| t.to_millis().unwrap_or_default()),
                    stats.sample_count(),
                    stats.sum(),
                    stats.minimum(),
                    stats.maximum(),
                )
            })
            .collect();
        assert_eq!(
            latency_on_orders,
            [
                (Some(60_000), Some(3.0), Some(60.0), Some(10.0), Some(30.0)),
                (Some(120_000), Some(1.0), Some(5.0), Some(5.0), Some(5.0)),
            ]
        );
        // Requests and Latency, by route and route-less: 2 route-minutes on orders, 1 on
        // users, and 2 route-less minutes.
        assert_eq!(datums.len(), 2 * (2 + 1 + 2));
    }
}
