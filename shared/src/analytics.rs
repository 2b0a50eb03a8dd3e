//! `GET /api/admin/logs?analytics=1h|24h|7d`: how the API has been doing.
//!
//! - `errors`: the error store's totals by severity and category, and per interval the
//!   recorded errors beside requests and 5xx answers (the error rate).
//! - `performance`: requests, 5xx, cold starts and p50/p95/p99 latency, overall and per
//!   route, read back from CloudWatch: the sums of the functions' own metric lines
//!   ([`crate::metrics`]). Percentiles are computed here from the latency histogram's
//!   bucket sums, the same way against CloudWatch and against the local emulator (which
//!   computes no percentiles).
//! - `slowQueries`: the slowest statements (`pg_stat_statements`).
//! - `outbox`: messages waiting, the oldest one's age, and dead messages.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_cloudwatch::{
    primitives::DateTime as AwsTime,
    types::{Dimension, DimensionFilter, Metric, MetricDataQuery, MetricStat},
};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::{
    error::{Category, FieldError},
    health::database::slowest_statements,
    metrics::{percentile, LATENCY_BUCKETS_MS, OVERFLOW_BUCKET},
    monitoring::overview::{overview, Window},
    outbox::admin::{backlog, Backlog},
    ApiError, ApiResult, AppState,
};

/// Queries per `GetMetricData` call (CloudWatch takes 500).
const QUERIES_PER_CALL: usize = 500;

/// The windows the seed's routine asks for, with the interval of their series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Hour,
    Day,
    Week,
}

impl std::str::FromStr for Period {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        match s {
            "1h" => Ok(Self::Hour),
            "24h" | "1d" => Ok(Self::Day),
            "7d" => Ok(Self::Week),
            _ => Err(FieldError::new("analytics", "must be 1h, 24h or 7d")),
        }
    }
}

impl Period {
    fn length(self) -> Duration {
        match self {
            Self::Hour => Duration::hours(1),
            Self::Day => Duration::hours(24),
            Self::Week => Duration::days(7),
        }
    }

    /// The interval of the series: twelve to twenty-eight points.
    fn step(self) -> Duration {
        match self {
            Self::Hour => Duration::minutes(5),
            Self::Day => Duration::hours(1),
            Self::Week => Duration::hours(6),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Hour => "1h",
            Self::Day => "24h",
            Self::Week => "7d",
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Analytics {
    pub window: &'static str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub errors: ErrorSection,
    pub performance: Performance,
    pub slow_queries: Vec<Value>,
    pub outbox: Backlog,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorSection {
    pub total: u64,
    pub by_severity: BTreeMap<&'static str, u64>,
    pub by_category: BTreeMap<&'static str, u64>,
    /// Requests, 5xx answers and their rate per interval, and errors recorded per hour.
    pub over_time: Vec<Interval>,
    pub recorded_hourly: Vec<Value>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Interval {
    pub start: DateTime<Utc>,
    pub requests: u64,
    pub server_errors: u64,
    /// 5xx answers per request, in percent.
    pub error_rate: f64,
}

#[derive(Debug, Serialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteFigures {
    pub requests: u64,
    pub server_errors: u64,
    pub error_rate: f64,
    pub cold_starts: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Performance {
    #[serde(flatten)]
    pub overall: RouteFigures,
    /// By route, busiest first.
    pub routes: Vec<RouteView>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteView {
    pub route: String,
    #[serde(flatten)]
    pub figures: RouteFigures,
}

/// The start of the window ending with the interval `to` falls in: the window holds
/// whole steps, the last one still filling.
fn window_start(period: Period, to: DateTime<Utc>) -> DateTime<Utc> {
    let step = period.step().num_seconds();
    let current = to.timestamp() - to.timestamp().rem_euclid(step);
    DateTime::from_timestamp(current + step, 0).unwrap_or(to) - period.length()
}

fn metrics_unavailable(err: impl Into<crate::error::BoxError>) -> ApiError {
    ApiError::service_unavailable("metrics are unavailable")
        .in_category(Category::ExternalService)
        .with_source(err)
}

fn aws_time(at: DateTime<Utc>) -> AwsTime {
    AwsTime::from_millis(at.timestamp_millis())
}

fn rate(failed: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (failed as f64 / total as f64 * 10_000.0).round() / 100.0
    }
}

/// The `Le` dimension values of the histogram, in bucket order.
fn bucket_names() -> Vec<String> {
    LATENCY_BUCKETS_MS
        .iter()
        .map(|bound| format!("{bound}"))
        .chain(std::iter::once(OVERFLOW_BUCKET.to_owned()))
        .collect()
}

/// One metric query: `id` sums `name` (with `dimensions`) over `period_seconds`.
fn sum_query(
    namespace: &str,
    id: String,
    name: &str,
    dimensions: &[(&str, &str)],
    period_seconds: i32,
) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(namespace)
        .metric_name(name)
        .set_dimensions(Some(
            dimensions
                .iter()
                .map(|(n, v)| Dimension::builder().name(*n).value(*v).build())
                .collect(),
        ))
        .build();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(period_seconds)
                .stat("Sum")
                .build(),
        )
        .return_data(true)
        .build()
}

/// Runs `queries` over `[from, to)`, returning each query's (timestamp, value) points.
async fn run_queries(
    state: &AppState,
    queries: Vec<MetricDataQuery>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<HashMap<String, Vec<(i64, f64)>>> {
    let mut results: HashMap<String, Vec<(i64, f64)>> = HashMap::new();
    for chunk in queries.chunks(QUERIES_PER_CALL) {
        let mut pages = state
            .cloudwatch
            .get_metric_data()
            .set_metric_data_queries(Some(chunk.to_vec()))
            .start_time(aws_time(from))
            .end_time(aws_time(to))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(metrics_unavailable)?;
            for result in page.metric_data_results() {
                let points = results
                    .entry(result.id().unwrap_or("").to_owned())
                    .or_default();
                for (at, value) in result.timestamps().iter().zip(result.values()) {
                    points.push((at.secs(), *value));
                }
            }
        }
    }
    Ok(results)
}

fn total(points: Option<&Vec<(i64, f64)>>) -> u64 {
    points
        .map_or(0.0, |p| p.iter().map(|(_, v)| v).sum::<f64>())
        .round() as u64
}

/// The routes that served requests (as the `Route` dimension of `Requests`).
async fn routes(state: &AppState) -> ApiResult<Vec<String>> {
    let mut pages = state
        .cloudwatch
        .list_metrics()
        .namespace(state.metrics.namespace())
        .metric_name("Requests")
        .dimensions(DimensionFilter::builder().name("Route").build())
        .into_paginator()
        .send();
    let mut routes = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(metrics_unavailable)?;
        for metric in page.metrics() {
            for dimension in metric.dimensions() {
                if dimension.name() == Some("Route") {
                    if let Some(route) = dimension.value() {
                        routes.push(route.to_owned());
                    }
                }
            }
        }
    }
    routes.sort();
    routes.dedup();
    Ok(routes)
}

/// Requests, 5xx, cold starts and latency percentiles, overall and per route.
async fn performance(
    state: &AppState,
    period: Period,
    to: DateTime<Utc>,
) -> ApiResult<(Performance, Vec<Interval>)> {
    // Aligned to the step: CloudWatch stamps each period with its start, counted from the
    // query's start, so the intervals below and its periods are the same ones.
    let from = window_start(period, to);
    let window_seconds = i32::try_from(period.length().num_seconds()).unwrap_or(i32::MAX);
    let step_seconds = i32::try_from(period.step().num_seconds()).unwrap_or(3600);
    let namespace = state.metrics.namespace();
    let routes = routes(state).await?;
    let buckets = bucket_names();
    // Only per-route metrics: the route-less aggregate is summed here, so that the
    // figures do not depend on how a store matches a metric without dimensions.
    let mut queries = Vec::new();
    for (i, route) in routes.iter().enumerate() {
        let on_route = [("Route", route.as_str())];
        queries.push(sum_query(
            namespace,
            format!("r{i}_requests"),
            "Requests",
            &on_route,
            step_seconds,
        ));
        queries.push(sum_query(
            namespace,
            format!("r{i}_failed"),
            "ServerErrors",
            &on_route,
            step_seconds,
        ));
        queries.push(sum_query(
            namespace,
            format!("r{i}_cold"),
            "ColdStart",
            &on_route,
            window_seconds,
        ));
        for (b, le) in buckets.iter().enumerate() {
            queries.push(sum_query(
                namespace,
                format!("r{i}_b{b}"),
                "LatencyBucket",
                &[("Route", route.as_str()), ("Le", le.as_str())],
                window_seconds,
            ));
        }
    }
    let results = run_queries(state, queries, from, to).await?;

    let mut overall_buckets = vec![0u64; buckets.len()];
    let mut views: Vec<RouteView> = routes
        .iter()
        .enumerate()
        .map(|(i, route)| {
            let counts: Vec<u64> = (0..buckets.len())
                .map(|b| total(results.get(&format!("r{i}_b{b}"))))
                .collect();
            for (sum, count) in overall_buckets.iter_mut().zip(&counts) {
                *sum += count;
            }
            let requests = total(results.get(&format!("r{i}_requests")));
            let failed = total(results.get(&format!("r{i}_failed")));
            RouteView {
                route: route.clone(),
                figures: RouteFigures {
                    requests,
                    server_errors: failed,
                    error_rate: rate(failed, requests),
                    cold_starts: total(results.get(&format!("r{i}_cold"))),
                    p50_ms: percentile(&counts, 50.0),
                    p95_ms: percentile(&counts, 95.0),
                    p99_ms: percentile(&counts, 99.0),
                },
            }
        })
        .filter(|view| view.figures.requests > 0)
        .collect();
    views.sort_by(|a, b| {
        b.figures
            .requests
            .cmp(&a.figures.requests)
            .then_with(|| a.route.cmp(&b.route))
    });

    // The series: one interval per step, empty ones included.
    let series = |kind: &str| -> HashMap<i64, f64> {
        let mut summed: HashMap<i64, f64> = HashMap::new();
        for i in 0..routes.len() {
            for (at, value) in results.get(&format!("r{i}_{kind}")).into_iter().flatten() {
                *summed.entry(*at).or_default() += value;
            }
        }
        summed
    };
    let (requests_at, failed_at) = (series("requests"), series("failed"));
    let steps = period.length().num_seconds() / period.step().num_seconds();
    let over_time: Vec<Interval> = (0..steps)
        .map(|k| {
            let start = from + period.step() * i32::try_from(k).unwrap_or(0);
            // CloudWatch stamps each period with its start; sum what falls inside.
            let inside = |points: &HashMap<i64, f64>| -> u64 {
                points
                    .iter()
                    .filter(|(at, _)| {
                        **at >= start.timestamp() && **at < (start + period.step()).timestamp()
                    })
                    .map(|(_, v)| v)
                    .sum::<f64>()
                    .round() as u64
            };
            let requests = inside(&requests_at);
            let failed = inside(&failed_at);
            Interval {
                start,
                requests,
                server_errors: failed,
                error_rate: rate(failed, requests),
            }
        })
        .collect();
    let requests: u64 = over_time.iter().map(|i| i.requests).sum();
    let failed: u64 = over_time.iter().map(|i| i.server_errors).sum();
    let overall = RouteFigures {
        requests,
        server_errors: failed,
        error_rate: rate(failed, requests),
        cold_starts: (0..routes.len())
            .map(|i| total(results.get(&format!("r{i}_cold"))))
            .sum(),
        p50_ms: percentile(&overall_buckets, 50.0),
        p95_ms: percentile(&overall_buckets, 95.0),
        p99_ms: percentile(&overall_buckets, 99.0),
    };
    Ok((
        Performance {
            overall,
            routes: views,
        },
        over_time,
    ))
}

/// The analytics of the `period` up to now.
pub async fn analytics(state: &AppState, period: Period) -> ApiResult<Analytics> {
    let to = Utc::now();
    let from = window_start(period, to);
    let window = Window {
        hours: period.length().num_hours(),
    };
    let database = async {
        let client = state.db.get().await?;
        let slow = slowest_statements(&client).await;
        let outbox = backlog(&*client, from).await?;
        Ok::<_, ApiError>((slow, outbox))
    };
    let (errors, measured, database) = tokio::join!(
        overview(state, window),
        performance(state, period, to),
        database
    );
    let (errors, (performance, over_time), (slow, outbox)) = (errors?, measured?, database?);
    Ok(Analytics {
        window: period.label(),
        from,
        to,
        errors: ErrorSection {
            total: errors.summary.total,
            by_severity: errors.summary.by_severity,
            by_category: errors.summary.by_category,
            over_time,
            recorded_hourly: errors
                .hourly
                .into_iter()
                .map(|h| serde_json::to_value(h).unwrap_or(Value::Null))
                .collect(),
        },
        performance,
        slow_queries: slow.statements,
        outbox,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_the_three_the_routine_asks_for() {
        assert_eq!("1h".parse(), Ok(Period::Hour));
        assert_eq!("24h".parse(), Ok(Period::Day));
        assert_eq!("7d".parse(), Ok(Period::Week));
        assert!("2h".parse::<Period>().is_err());
        for period in [Period::Hour, Period::Day, Period::Week] {
            let points = period.length().num_seconds() / period.step().num_seconds();
            assert!((12..=28).contains(&points), "{period:?}: {points}");
        }
    }

    #[test]
    fn windows_start_on_a_step_and_end_with_the_current_one() {
        let to = DateTime::parse_from_rfc3339("2026-12-01T10:37:12Z")
            .expect("time")
            .with_timezone(&Utc);
        let start = |p| window_start(p, to).to_rfc3339();
        assert_eq!(start(Period::Hour), "2026-12-01T09:40:00+00:00");
        assert_eq!(start(Period::Day), "2026-11-30T11:00:00+00:00");
        assert_eq!(start(Period::Week), "2026-11-24T12:00:00+00:00");
    }

    #[test]
    fn rates_are_percentages_of_requests() {
        assert_eq!(rate(1, 8), 12.5);
        assert_eq!(rate(0, 0), 0.0);
        assert_eq!(rate(2, 3), 66.67);
    }

    #[test]
    fn the_histogram_has_a_name_per_bucket() {
        let names = bucket_names();
        assert_eq!(names.len(), LATENCY_BUCKETS_MS.len() + 1);
        assert_eq!(names[0], "5");
        assert_eq!(names.last().map(String::as_str), Some(OVERFLOW_BUCKET));
    }
}
