//! The `performance` section and the request series of the `errors` section: requests,
//! 5xx answers, cold starts and latency percentiles, overall and per route, from the
//! sums of the functions' metric lines over the window.

use std::collections::HashMap;

use aws_sdk_cloudwatch::types::MetricDataQuery;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    cloudwatch::{routes, run_queries, sum_query, Points},
    rate, window_start, Period,
};
use crate::{
    metrics::{percentile, LATENCY_BUCKETS_MS, OVERFLOW_BUCKET},
    ApiResult, AppState,
};

/// Buckets of the latency histogram: one per bound, and the unbounded one.
const BUCKETS: usize = LATENCY_BUCKETS_MS.len() + 1;

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

/// Requests, 5xx, cold starts and latency percentiles, overall and per route, and the
/// series of requests and 5xx answers per interval of the window ending at `to`.
pub(super) async fn performance(
    state: &AppState,
    period: Period,
    to: DateTime<Utc>,
) -> ApiResult<(Performance, Vec<Interval>)> {
    // Aligned to the step: CloudWatch stamps each period with its start, counted from the
    // query's start, so the intervals below and its periods are the same ones.
    let from = window_start(period, to);
    let routes = routes(state).await?;
    let queries = route_queries(state.metrics.namespace(), &routes, period);
    let sums = Sums {
        points: run_queries(state, queries, from, to).await?,
        routes: routes.len(),
    };
    let latency: Vec<Vec<u64>> = (0..routes.len()).map(|i| sums.latency(i)).collect();
    let over_time = intervals(period, from, &sums);
    let performance = Performance {
        overall: overall(&over_time, &sums, &latency),
        routes: route_views(&routes, &sums, &latency),
    };
    Ok((performance, over_time))
}

/// The `Le` dimension values of the histogram, in bucket order.
fn bucket_names() -> Vec<String> {
    LATENCY_BUCKETS_MS
        .iter()
        .map(|bound| format!("{bound}"))
        .chain(std::iter::once(OVERFLOW_BUCKET.to_owned()))
        .collect()
}

/// The id of the query for `measure` (`requests`, `failed`, `cold`, `b<bucket>`) of the
/// route at index `route`: the queries are built and their sums read back by it.
fn query_id(route: usize, measure: &str) -> String {
    format!("r{route}_{measure}")
}

/// The queries of every route: requests and 5xx per step of the series; cold starts and
/// each latency bucket over the whole window.
///
/// Only per-route metrics: the route-less aggregate is summed here, so that the figures
/// do not depend on how a store matches a metric without dimensions.
fn route_queries(namespace: &str, routes: &[String], period: Period) -> Vec<MetricDataQuery> {
    let window_seconds = i32::try_from(period.length().num_seconds()).unwrap_or(i32::MAX);
    let step_seconds = i32::try_from(period.step().num_seconds()).unwrap_or(3600);
    let buckets = bucket_names();
    let mut queries = Vec::new();
    for (i, route) in routes.iter().enumerate() {
        let on_route = [("Route", route.as_str())];
        for (measure, metric, seconds) in [
            ("requests", "Requests", step_seconds),
            ("failed", "ServerErrors", step_seconds),
            ("cold", "ColdStart", window_seconds),
        ] {
            let id = query_id(i, measure);
            queries.push(sum_query(namespace, id, metric, &on_route, seconds));
        }
        for (b, le) in buckets.iter().enumerate() {
            queries.push(sum_query(
                namespace,
                query_id(i, &format!("b{b}")),
                "LatencyBucket",
                &[("Route", route.as_str()), ("Le", le.as_str())],
                window_seconds,
            ));
        }
    }
    queries
}

/// The points the queries of [`route_queries`] returned, read by route index.
struct Sums {
    points: Points,
    routes: usize,
}

impl Sums {
    /// All of `measure` the route at index `route` reported in the window.
    fn total(&self, route: usize, measure: &str) -> u64 {
        self.points
            .get(&query_id(route, measure))
            .map_or(0.0, |p| p.iter().map(|(_, v)| v).sum::<f64>())
            .round() as u64
    }

    /// The route's count in each latency bucket, in bucket order.
    fn latency(&self, route: usize) -> Vec<u64> {
        (0..BUCKETS)
            .map(|b| self.total(route, &format!("b{b}")))
            .collect()
    }

    /// `measure` of every route, summed per timestamp.
    fn series(&self, measure: &str) -> HashMap<i64, f64> {
        let mut summed: HashMap<i64, f64> = HashMap::new();
        for route in 0..self.routes {
            let points = self.points.get(&query_id(route, measure));
            for (at, value) in points.into_iter().flatten() {
                *summed.entry(*at).or_default() += value;
            }
        }
        summed
    }
}

/// The figures of `requests` of which `failed` were 5xx answers, with `cold_starts` and
/// the percentiles of the `latency` histogram.
fn figures(requests: u64, failed: u64, cold_starts: u64, latency: &[u64]) -> RouteFigures {
    RouteFigures {
        requests,
        server_errors: failed,
        error_rate: rate(failed, requests),
        cold_starts,
        p50_ms: percentile(latency, 50.0),
        p95_ms: percentile(latency, 95.0),
        p99_ms: percentile(latency, 99.0),
    }
}

/// The series: one interval per step of the window, empty ones included.
fn intervals(period: Period, from: DateTime<Utc>, sums: &Sums) -> Vec<Interval> {
    let (requests_at, failed_at) = (sums.series("requests"), sums.series("failed"));
    let steps = period.length().num_seconds() / period.step().num_seconds();
    (0..steps)
        .map(|k| {
            let start = from + period.step() * i32::try_from(k).unwrap_or(0);
            let end = start + period.step();
            let requests = sum_within(&requests_at, start, end);
            let failed = sum_within(&failed_at, start, end);
            Interval {
                start,
                requests,
                server_errors: failed,
                error_rate: rate(failed, requests),
            }
        })
        .collect()
}

/// What `points` hold in `[start, end)`: CloudWatch stamps each period with its start,
/// so a period's sum falls in the interval it began in.
fn sum_within(points: &HashMap<i64, f64>, start: DateTime<Utc>, end: DateTime<Utc>) -> u64 {
    points
        .iter()
        .filter(|(at, _)| **at >= start.timestamp() && **at < end.timestamp())
        .map(|(_, v)| v)
        .sum::<f64>()
        .round() as u64
}

/// The whole window: requests and 5xx as the series counts them, every route's cold
/// starts, and the percentiles of all routes' latency histograms added together (routes
/// without requests included, as their buckets were reported).
fn overall(over_time: &[Interval], sums: &Sums, latency: &[Vec<u64>]) -> RouteFigures {
    let requests: u64 = over_time.iter().map(|i| i.requests).sum();
    let failed: u64 = over_time.iter().map(|i| i.server_errors).sum();
    let cold_starts: u64 = (0..sums.routes).map(|i| sums.total(i, "cold")).sum();
    let mut histogram = vec![0u64; BUCKETS];
    for counts in latency {
        for (sum, count) in histogram.iter_mut().zip(counts) {
            *sum += count;
        }
    }
    figures(requests, failed, cold_starts, &histogram)
}

/// The routes that served requests in the window, busiest first (ties by name).
fn route_views(routes: &[String], sums: &Sums, latency: &[Vec<u64>]) -> Vec<RouteView> {
    let mut views: Vec<RouteView> = routes
        .iter()
        .zip(latency)
        .enumerate()
        .map(|(i, (route, counts))| RouteView {
            route: route.clone(),
            figures: figures(
                sums.total(i, "requests"),
                sums.total(i, "failed"),
                sums.total(i, "cold"),
                counts,
            ),
        })
        .filter(|view| view.figures.requests > 0)
        .collect();
    views.sort_by(|a, b| {
        b.figures
            .requests
            .cmp(&a.figures.requests)
            .then_with(|| a.route.cmp(&b.route))
    });
    views
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_has_a_name_per_bucket() {
        let names = bucket_names();
        assert_eq!(names.len(), LATENCY_BUCKETS_MS.len() + 1);
        assert_eq!(names[0], "5");
        assert_eq!(names.last().map(String::as_str), Some(OVERFLOW_BUCKET));
    }
}
