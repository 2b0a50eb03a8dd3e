//! Metrics as CloudWatch Embedded Metric Format lines: a JSON object on standard output
//! whose `_aws` member tells CloudWatch Logs which of its fields are metrics. Lambda's
//! log pipeline turns them into metrics, so recording one costs a line of output and no
//! API call on the request path. The alarms, the dashboard and `/api/admin/logs` read
//! them back (namespace `ReadySet`, `METRICS_NAMESPACE`).
//!
//! | metric | dimensions | from |
//! |---|---|---|
//! | `Requests`, `ServerErrors`, `Latency`, `ColdStart`, `MemoryUtilization` | `Route`, and none | every request ([`Metrics::request`]) |
//! | `LatencyBucket` | `Route`, `Le` | every request: a histogram, one count per bucket |
//! | `Errors` | `Severity` | every recorded error ([`Metrics::error_recorded`]) |
//!
//! (`OutboxDeadMessages` comes from a log metric filter on the relay's dead-message line.)
//!
//! The histogram is what percentiles per route are computed from ([`percentile`]): the
//! same sums come back from CloudWatch and from the local emulator, which computes no
//! percentiles itself. Locally there is no CloudWatch Logs to extract the lines, so the
//! local stack takes the documents over a channel ([`Metrics::extracted_by`]) and does
//! what CloudWatch Logs would.

use std::{io::Write, sync::Arc};

use serde_json::{json, Map, Value};
use tokio::sync::mpsc::UnboundedSender;

pub const DEFAULT_NAMESPACE: &str = "ReadySet";

/// Upper bounds (ms) of the latency histogram's buckets; the last one is unbounded.
pub const LATENCY_BUCKETS_MS: [f64; 11] = [
    5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
];
/// The `Le` of the unbounded bucket.
pub const OVERFLOW_BUCKET: &str = "+Inf";

crate::text_enum::text_enum! {
    /// Where metric lines go, as configured (`METRICS`).
    pub enum MetricsSink("metrics sink") {
        /// Standard output, for CloudWatch Logs to extract (Lambda).
        Emf = "emf",
        /// Nowhere.
        Off = "off",
    }
}

#[derive(Clone)]
enum Output {
    Stdout,
    Off,
    /// The local stack's stand-in for CloudWatch Logs.
    Extractor(UnboundedSender<Value>),
}

/// The metric writer every function uses.
#[derive(Clone)]
pub struct Metrics {
    namespace: Arc<str>,
    output: Output,
}

crate::text_enum::text_enum! {
    /// A metric's unit, as CloudWatch spells it.
    pub enum Unit("metric unit") {
        Count = "Count",
        Milliseconds = "Milliseconds",
        Percent = "Percent",
    }
}

/// One group of metrics under the dimension sets of one EMF directive.
struct Directive<'a> {
    dimension_sets: &'a [&'a [&'a str]],
    metrics: &'a [(&'a str, Unit, f64)],
}

/// What one served request reports.
#[derive(Debug, Clone, Copy)]
pub struct RequestMetrics<'a> {
    pub route: &'a str,
    pub request_id: &'a str,
    pub status: u16,
    pub latency_ms: f64,
    pub cold_start: bool,
}

/// The histogram bucket (`Le`) of a latency.
pub fn bucket_of(latency_ms: f64) -> String {
    LATENCY_BUCKETS_MS
        .iter()
        .find(|bound| latency_ms <= **bound)
        .map_or_else(|| OVERFLOW_BUCKET.to_owned(), |bound| format!("{bound}"))
}

impl Metrics {
    pub fn new(namespace: &str, sink: MetricsSink) -> Self {
        Self {
            namespace: namespace.into(),
            output: match sink {
                MetricsSink::Emf => Output::Stdout,
                MetricsSink::Off => Output::Off,
            },
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The same metrics, handed as documents to `extractor` instead of printed: the local
    /// stack's stand-in for CloudWatch Logs.
    pub fn extracted_by(&self, extractor: UnboundedSender<Value>) -> Self {
        Self {
            namespace: Arc::clone(&self.namespace),
            output: Output::Extractor(extractor),
        }
    }

    fn document(
        &self,
        timestamp_ms: i64,
        fields: &[(&str, &str)],
        directives: &[Directive<'_>],
    ) -> Value {
        let mut doc = Map::new();
        let cloudwatch_metrics: Vec<Value> = directives
            .iter()
            .map(|d| {
                json!({
                    "Namespace": &*self.namespace,
                    "Dimensions": d.dimension_sets,
                    "Metrics": d
                        .metrics
                        .iter()
                        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        doc.insert(
            "_aws".to_owned(),
            json!({ "Timestamp": timestamp_ms, "CloudWatchMetrics": cloudwatch_metrics }),
        );
        for (name, value) in fields {
            doc.insert((*name).to_owned(), Value::from(*value));
        }
        for directive in directives {
            for (name, _, value) in directive.metrics {
                doc.insert((*name).to_owned(), json!(value));
            }
        }
        Value::Object(doc)
    }

    fn emit(&self, doc: Value) {
        match &self.output {
            Output::Off => {}
            Output::Stdout => {
                // One write of one line, so lines of concurrent requests never interleave.
                let mut line = doc.to_string();
                line.push('\n');
                let _ = std::io::stdout().lock().write_all(line.as_bytes());
            }
            Output::Extractor(extractor) => {
                let _ = extractor.send(doc);
            }
        }
    }

    /// The metric line of one request.
    pub fn request_document(&self, metrics: &RequestMetrics<'_>, timestamp_ms: i64) -> Value {
        let mut values = vec![
            ("Requests", Unit::Count, 1.0),
            (
                "ServerErrors",
                Unit::Count,
                f64::from(u8::from(metrics.status >= 500)),
            ),
            ("Latency", Unit::Milliseconds, metrics.latency_ms),
            (
                "ColdStart",
                Unit::Count,
                f64::from(u8::from(metrics.cold_start)),
            ),
        ];
        if let Some(percent) = memory_utilization() {
            values.push(("MemoryUtilization", Unit::Percent, percent));
        }
        let status = metrics.status.to_string();
        let bucket = bucket_of(metrics.latency_ms);
        self.document(
            timestamp_ms,
            &[
                ("Route", metrics.route),
                ("Le", &bucket),
                ("requestId", metrics.request_id),
                ("status", &status),
            ],
            &[
                Directive {
                    dimension_sets: &[&["Route"], &[]],
                    metrics: &values,
                },
                Directive {
                    dimension_sets: &[&["Route", "Le"]],
                    metrics: &[("LatencyBucket", Unit::Count, 1.0)],
                },
            ],
        )
    }

    pub fn request(&self, metrics: &RequestMetrics<'_>) {
        self.emit(self.request_document(metrics, now_ms()));
    }

    /// Counts one recorded error by its severity (`CRITICAL`, …: the alarms on critical
    /// and high errors).
    pub fn error_recorded(&self, severity: &str, request_id: &str) {
        let doc = self.document(
            now_ms(),
            &[("Severity", severity), ("requestId", request_id)],
            &[Directive {
                dimension_sets: &[&["Severity"]],
                metrics: &[("Errors", Unit::Count, 1.0)],
            }],
        );
        self.emit(doc);
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The `p`-th percentile (0–100) of a latency histogram given as counts per bucket (in
/// [`LATENCY_BUCKETS_MS`] order, the overflow bucket last), interpolating linearly inside
/// the bucket it falls in, as Prometheus' `histogram_quantile` does. The overflow bucket
/// answers its lower bound. `None` without samples.
pub fn percentile(counts: &[u64], p: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = p / 100.0 * total as f64;
    let mut below = 0u64;
    for (i, count) in counts.iter().enumerate() {
        let above = below + count;
        if *count > 0 && above as f64 >= rank {
            let lower = if i == 0 {
                0.0
            } else {
                LATENCY_BUCKETS_MS[i - 1]
            };
            let Some(upper) = LATENCY_BUCKETS_MS.get(i) else {
                return Some(lower);
            };
            let within = (rank - below as f64) / *count as f64;
            return Some(((lower + (upper - lower) * within) * 100.0).round() / 100.0);
        }
        below = above;
    }
    LATENCY_BUCKETS_MS.last().copied()
}

/// The container's memory: what it holds resident, and the function's memory size
/// (Lambda sets `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; elsewhere there is none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryUse {
    pub resident_mb: Option<f64>,
    pub limit_mb: Option<f64>,
}

impl MemoryUse {
    pub fn now() -> Self {
        let resident_mb = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map(|pages| (pages * 4096.0 / 1_048_576.0 * 10.0).round() / 10.0);
        Self {
            resident_mb,
            limit_mb: function_memory_mb(),
        }
    }

    /// Resident memory as a percentage of the function's memory size.
    pub fn utilization_percent(&self) -> Option<f64> {
        self.resident_mb
            .zip(self.limit_mb)
            .map(|(used, limit)| (used / limit * 1000.0).round() / 10.0)
    }
}

fn function_memory_mb() -> Option<f64> {
    std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .ok()?
        .parse()
        .ok()
}

/// The utilization metric of a request: only in Lambda, where there is a memory size
/// (checked first, so elsewhere nothing is read per request).
fn memory_utilization() -> Option<f64> {
    function_memory_mb()?;
    MemoryUse::now().utilization_percent()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_line_is_an_emf_document() {
        let metrics = Metrics::new(DEFAULT_NAMESPACE, MetricsSink::Off);
        let doc = metrics.request_document(
            &RequestMetrics {
                route: "GET /api/orders",
                request_id: "req-1",
                status: 503,
                latency_ms: 12.5,
                cold_start: true,
            },
            1_700_000_000_000,
        );
        let directives = doc["_aws"]["CloudWatchMetrics"]
            .as_array()
            .expect("directives");
        assert_eq!(directives.len(), 2);
        assert_eq!(directives[0]["Namespace"], DEFAULT_NAMESPACE);
        assert_eq!(directives[0]["Dimensions"], json!([["Route"], []]));
        assert_eq!(directives[1]["Dimensions"], json!([["Route", "Le"]]));
        // Every declared metric and dimension has its value at the top level, as EMF
        // requires.
        for directive in directives {
            for metric in directive["Metrics"].as_array().expect("metrics") {
                let name = metric["Name"].as_str().expect("name");
                assert!(doc[name].is_number(), "{name}");
            }
            for set in directive["Dimensions"].as_array().expect("sets") {
                for dimension in set.as_array().expect("set") {
                    assert!(doc[dimension.as_str().expect("name")].is_string());
                }
            }
        }
        assert_eq!(doc["ServerErrors"], 1.0);
        assert_eq!(doc["ColdStart"], 1.0);
        assert_eq!(doc["Le"], "25");
        assert_eq!(doc["requestId"], "req-1");
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000i64);
    }

    #[test]
    fn latencies_fall_in_the_first_bucket_that_holds_them() {
        assert_eq!(bucket_of(0.3), "5");
        assert_eq!(bucket_of(5.0), "5");
        assert_eq!(bucket_of(5.1), "10");
        assert_eq!(bucket_of(2400.0), "2500");
        assert_eq!(bucket_of(60_000.0), OVERFLOW_BUCKET);
    }

    #[test]
    fn percentiles_interpolate_within_their_bucket() {
        // 100 requests: 50 in (0, 5], 40 in (5, 10], 10 in (10, 25].
        let mut counts = [0u64; 12];
        counts[0] = 50;
        counts[1] = 40;
        counts[2] = 10;
        assert_eq!(percentile(&counts, 50.0), Some(5.0));
        assert_eq!(percentile(&counts, 70.0), Some(7.5));
        assert_eq!(percentile(&counts, 95.0), Some(17.5));
        assert_eq!(percentile(&counts, 100.0), Some(25.0));
        assert_eq!(percentile(&[0; 12], 99.0), None);
        let mut slow = [0u64; 12];
        slow[11] = 3;
        assert_eq!(percentile(&slow, 99.0), Some(10_000.0));
    }

    #[test]
    fn sinks_parse() {
        assert_eq!("emf".parse(), Ok(MetricsSink::Emf));
        assert_eq!("off".parse(), Ok(MetricsSink::Off));
        assert!("stdout".parse::<MetricsSink>().is_err());
    }
}
