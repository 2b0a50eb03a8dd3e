//! The CloudWatch calls the performance figures are read with: which routes reported
//! metrics, and the sums of metric queries over a window.

use std::collections::HashMap;

use aws_sdk_cloudwatch::{
    primitives::DateTime as AwsTime,
    types::{Dimension, DimensionFilter, Metric, MetricDataQuery, MetricStat},
};
use chrono::{DateTime, Utc};

use crate::{error::Category, ApiError, ApiResult, AppState};

/// Queries per `GetMetricData` call (CloudWatch takes 500).
const QUERIES_PER_CALL: usize = 500;

/// Each query's (timestamp in seconds, value) points, by query id.
pub(super) type Points = HashMap<String, Vec<(i64, f64)>>;

fn metrics_unavailable(err: impl Into<crate::error::BoxError>) -> ApiError {
    ApiError::service_unavailable("metrics are unavailable")
        .in_category(Category::ExternalService)
        .with_source(err)
}

fn aws_time(at: DateTime<Utc>) -> AwsTime {
    AwsTime::from_millis(at.timestamp_millis())
}

/// One metric query: `id` sums `name` (with `dimensions`) over `period_seconds`.
pub(super) fn sum_query(
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
pub(super) async fn run_queries(
    state: &AppState,
    queries: Vec<MetricDataQuery>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<Points> {
    let mut results: Points = HashMap::new();
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

/// The routes that served requests (as the `Route` dimension of `Requests`).
pub(super) async fn routes(state: &AppState) -> ApiResult<Vec<String>> {
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
