//! Metrics as CloudWatch Embedded Metric Format lines: a JSON object on standard output
//! whose `_aws` member tells CloudWatch Logs which of its fields are metrics. Lambda's
//! log pipeline turns them into metrics, so recording one costs a line of output and no
//! API call on the request path. The alarms and the dashboard in `template.yaml` read
//! them (namespace `ReadySet`).
//!
//! | metric | dimensions | from |
//! |---|---|---|
//! | `Requests`, `ServerErrors`, `Latency`, `ColdStart`, `MemoryUtilization` | `Route`, and none | every request ([`request`]) |
//! | `Errors` | `Severity` | every recorded error ([`error_recorded`]) |
//!
//! (`OutboxDeadMessages` comes from a log metric filter on the relay's dead-message line.)

use std::io::Write;

use serde_json::{json, Map, Value};

pub const NAMESPACE: &str = "ReadySet";

/// Where metric lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsSink {
    /// Standard output, for CloudWatch Logs to extract (Lambda).
    Emf,
    /// Nowhere (local runs that do not want a second line per request).
    Off,
}

impl std::str::FromStr for MetricsSink {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "emf" => Ok(Self::Emf),
            "off" => Ok(Self::Off),
            other => Err(format!("expected emf or off, got {other:?}")),
        }
    }
}

/// A metric's unit, as CloudWatch spells it.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    Count,
    Milliseconds,
    Percent,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Percent => "Percent",
        }
    }
}

/// One EMF document: metric values under `dimension_sets` of the `dimensions` given, plus
/// `properties` that are logged but not metrics (the request id).
pub fn document(
    timestamp_ms: i64,
    dimensions: &[(&str, &str)],
    dimension_sets: &[&[&str]],
    metrics: &[(&str, Unit, f64)],
    properties: &[(&str, &str)],
) -> Value {
    let mut doc = Map::new();
    doc.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimension_sets,
                "Metrics": metrics
                    .iter()
                    .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    for (name, value) in dimensions.iter().chain(properties) {
        doc.insert((*name).to_owned(), Value::from(*value));
    }
    for (name, _, value) in metrics {
        doc.insert((*name).to_owned(), json!(value));
    }
    Value::Object(doc)
}

fn emit(sink: MetricsSink, doc: &Value) {
    if sink == MetricsSink::Off {
        return;
    }
    // One write of one line, so lines of concurrent requests never interleave.
    let mut line = doc.to_string();
    line.push('\n');
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
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

/// The metric line of one request.
pub fn request_document(metrics: &RequestMetrics<'_>, timestamp_ms: i64) -> Value {
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
    document(
        timestamp_ms,
        &[("Route", metrics.route)],
        &[&["Route"], &[]],
        &values,
        &[("requestId", metrics.request_id), ("status", &status)],
    )
}

pub fn request(sink: MetricsSink, metrics: &RequestMetrics<'_>) {
    emit(sink, &request_document(metrics, now_ms()));
}

/// Counts one recorded error by its severity (`CRITICAL`, …: the alarms on critical and
/// high errors).
pub fn error_recorded(sink: MetricsSink, severity: &str, request_id: &str) {
    let doc = document(
        now_ms(),
        &[("Severity", severity)],
        &[&["Severity"]],
        &[("Errors", Unit::Count, 1.0)],
        &[("requestId", request_id)],
    );
    emit(sink, &doc);
}

/// Resident memory as a percentage of the function's memory size (Lambda sets
/// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`); `None` elsewhere.
fn memory_utilization() -> Option<f64> {
    let limit_mb: f64 = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .ok()?
        .parse()
        .ok()?;
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident_pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let resident_mb = resident_pages * 4096.0 / (1024.0 * 1024.0);
    Some((resident_mb / limit_mb * 1000.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_line_is_an_emf_document() {
        let doc = request_document(
            &RequestMetrics {
                route: "GET /api/orders",
                request_id: "req-1",
                status: 503,
                latency_ms: 12.5,
                cold_start: true,
            },
            1_700_000_000_000,
        );
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Route"], []]));
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .filter_map(|m| m["Name"].as_str())
            .collect();
        // Every declared metric has its value at the top level, as EMF requires.
        for name in &names {
            assert!(doc[*name].is_number(), "{name}");
        }
        assert!(names.starts_with(&["Requests", "ServerErrors", "Latency", "ColdStart"]));
        assert_eq!(doc["ServerErrors"], 1.0);
        assert_eq!(doc["ColdStart"], 1.0);
        assert_eq!(doc["Route"], "GET /api/orders");
        assert_eq!(doc["requestId"], "req-1");
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000i64);
    }

    #[test]
    fn sinks_parse() {
        assert_eq!("emf".parse(), Ok(MetricsSink::Emf));
        assert_eq!("off".parse(), Ok(MetricsSink::Off));
        assert!("stdout".parse::<MetricsSink>().is_err());
    }
}
