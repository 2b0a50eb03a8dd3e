//! `GET /api/health`: the state of every dependency, checked in parallel.
//!
//! 200 when all are up, 503 with the same body when any is down, so a load balancer or
//! uptime check can act on the status code alone and a person can read which part failed.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use lambda_http::{http::StatusCode, Body, Request, Response};
use serde::Serialize;
use shared::{
    http::json,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

/// A dependency slower than this is reported down rather than holding the check open.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// Exempt from per-identity limits: uptime checks poll it, and it must answer while
/// DynamoDB (where the counters live) is down.
pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Exempt);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(health(state, req))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    pub status: &'static str,
    pub timestamp: chrono::DateTime<chrono::Utc>,
    pub environment: &'static str,
    pub version: &'static str,
    pub services: Services,
}

#[derive(Debug, Serialize)]
pub struct Services {
    pub database: ServiceStatus,
    pub dynamodb: ServiceStatus,
    pub s3: ServiceStatus,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    pub status: &'static str,
    pub latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// What failed, in words safe to show: never a connection string or SQL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

impl ServiceStatus {
    fn is_up(&self) -> bool {
        self.status == "up"
    }
}

async fn health(state: &AppState, _req: Request) -> ApiResult<Response<Body>> {
    let (database, dynamodb, s3) = tokio::join!(
        timed(check_database(state)),
        timed(check_dynamodb(state)),
        timed(check_s3(state)),
    );
    let services = Services {
        database,
        dynamodb,
        s3,
    };
    let healthy = services.database.is_up() && services.dynamodb.is_up() && services.s3.is_up();
    let report = HealthReport {
        status: if healthy { "healthy" } else { "degraded" },
        timestamp: chrono::Utc::now(),
        environment: state.config.environment.as_str(),
        version: env!("CARGO_PKG_VERSION"),
        services,
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(status, &report)
}

/// Runs one check under the timeout and measures it.
async fn timed<F>(check: F) -> ServiceStatus
where
    F: Future<Output = Result<Option<serde_json::Value>, &'static str>>,
{
    let started = Instant::now();
    let outcome = tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or(Err("timed out"));
    let latency_ms = (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    match outcome {
        Ok(detail) => ServiceStatus {
            status: "up",
            latency_ms,
            detail,
            error: None,
        },
        Err(error) => ServiceStatus {
            status: "down",
            latency_ms,
            detail: None,
            error: Some(error),
        },
    }
}

async fn check_database(state: &AppState) -> Result<Option<serde_json::Value>, &'static str> {
    let client = state.db.get().await.map_err(|err| {
        tracing::warn!(error = ?err.source, "health: database unreachable");
        "unreachable"
    })?;
    let row = client
        .query_typed_one(
            "SELECT postgis_lib_version(), (SELECT max(version) FROM refinery_schema_history)",
            &[],
        )
        .await
        .map_err(|err| {
            tracing::warn!(error = %err, "health: database query failed");
            "query failed"
        })?;
    let postgis: String = row.get(0);
    let schema_version: Option<i32> = row.get(1);
    Ok(Some(
        serde_json::json!({ "postgis": postgis, "schemaVersion": schema_version }),
    ))
}

async fn check_dynamodb(state: &AppState) -> Result<Option<serde_json::Value>, &'static str> {
    state
        .dynamodb
        .describe_table()
        .table_name(&state.config.resources.app_table)
        .send()
        .await
        .map(|_| None)
        .map_err(|err| {
            tracing::warn!(error = %shared::error::chain(&err), "health: DynamoDB check failed");
            "unreachable"
        })
}

async fn check_s3(state: &AppState) -> Result<Option<serde_json::Value>, &'static str> {
    state
        .s3
        .head_bucket()
        .bucket(&state.config.resources.uploads_bucket)
        .send()
        .await
        .map(|_| None)
        .map_err(|err| {
            tracing::warn!(error = %shared::error::chain(&err), "health: S3 check failed");
            "unreachable"
        })
}
