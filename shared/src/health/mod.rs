//! The health of every dependency, checked in parallel, each under a deadline: what
//! `GET /api/health` reports (in full to staff; as a status alone to anyone else).
//!
//! Without the database or DynamoDB (sessions, rate limits) almost nothing works: either
//! down is `unhealthy` (503). S3 down, the maps provider's breaker open (distances fall
//! back to the offline estimate) or memory above 85 % is `degraded`: still 200, so a load
//! balancer keeps the API in service while operations look.
//!
//! Monitors poll the route, so a healthy result is shared for a few seconds
//! ([`Config::health_cache_max_age`](crate::config::Config)) instead of costing a
//! database, DynamoDB and S3 call per poll; callers arriving during a check wait for it
//! rather than starting their own. A failing result is never reused: the next call
//! checks again, so recovery shows at once.

pub mod database;

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Serialize;

use crate::{db::RowExt, AppState};

/// A dependency slower than this is reported down rather than holding the check open.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Overall {
    Healthy,
    Degraded,
    Unhealthy,
}

/// Memory use above this share of the function's memory makes the API degraded.
const MEMORY_DEGRADED_PERCENT: f64 = 85.0;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    pub status: Overall,
    pub timestamp: chrono::DateTime<chrono::Utc>,
    pub environment: &'static str,
    pub version: &'static str,
    pub services: Services,
}

/// What anyone may see: whether the API is up, nothing about what it runs on.
#[derive(Debug, Serialize)]
pub struct Liveness {
    pub status: Overall,
    pub timestamp: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize)]
pub struct Services {
    pub database: ServiceStatus,
    pub dynamodb: ServiceStatus,
    pub s3: ServiceStatus,
    pub maps: ServiceStatus,
    pub memory: MemoryStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Up {
    Up,
    /// Working through a fallback.
    Degraded,
    Down,
}

/// The container's memory.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryStatus {
    pub status: Up,
    pub resident_mb: Option<f64>,
    /// The function's memory size (Lambda only).
    pub limit_mb: Option<f64>,
    pub utilization_percent: Option<f64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    pub status: Up,
    pub latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// What failed, in words safe to show: never a connection string or SQL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

impl HealthReport {
    pub fn is_healthy(&self) -> bool {
        self.status == Overall::Healthy
    }

    /// 503 only when unhealthy: degraded still serves.
    pub fn is_serving(&self) -> bool {
        self.status != Overall::Unhealthy
    }

    pub fn liveness(&self) -> Liveness {
        Liveness {
            status: self.status,
            timestamp: self.timestamp,
        }
    }
}

/// A check's result and when it finished.
type Checked = (Instant, Arc<HealthReport>);

/// The last result of a container's checks, shared by its requests.
#[derive(Clone, Default)]
pub struct HealthCache {
    last: Arc<tokio::sync::Mutex<Option<Checked>>>,
}

/// A recent result when it is healthy and younger than the configured age, else a live
/// check. `timestamp` in the report is when its check ran.
pub async fn check_recent(state: &AppState) -> Arc<HealthReport> {
    let asked = Instant::now();
    // Held across the check: concurrent callers share one check instead of each
    // running their own.
    let mut last = state.health.last.lock().await;
    if let Some((checked, report)) = last.as_ref() {
        let fresh = report.is_healthy() && checked.elapsed() < state.config.health_cache_max_age;
        let checked_while_waiting = *checked >= asked;
        if fresh || checked_while_waiting {
            return Arc::clone(report);
        }
    }
    let report = Arc::new(Box::pin(check(state)).await);
    *last = Some((Instant::now(), Arc::clone(&report)));
    report
}

/// Checks every dependency, live.
pub async fn check(state: &AppState) -> HealthReport {
    let (database, dynamodb, s3) = tokio::join!(
        timed(check_database(state)),
        timed(check_dynamodb(state)),
        timed(check_s3(state)),
    );
    let maps = check_maps(state);
    let memory = check_memory();
    let status = overall(&[
        (&database, Overall::Unhealthy),
        (&dynamodb, Overall::Unhealthy),
        (&s3, Overall::Degraded),
        (&maps, Overall::Degraded),
    ])
    .max(if memory.status == Up::Up {
        Overall::Healthy
    } else {
        Overall::Degraded
    });
    HealthReport {
        status,
        timestamp: chrono::Utc::now(),
        environment: state.config.environment.as_str(),
        version: env!("CARGO_PKG_VERSION"),
        services: Services {
            database,
            dynamodb,
            s3,
            maps,
            memory,
        },
    }
}

/// The worst of the services, each weighed by what its being down means.
fn overall(services: &[(&ServiceStatus, Overall)]) -> Overall {
    services
        .iter()
        .map(|(service, when_down)| match service.status {
            Up::Up => Overall::Healthy,
            Up::Degraded => Overall::Degraded,
            Up::Down => *when_down,
        })
        .max()
        .unwrap_or(Overall::Healthy)
}

/// The maps provider: its circuit breaker, without a call (a health poll must not spend
/// the maps quota). Offline needs nothing and is always up.
fn check_maps(state: &AppState) -> ServiceStatus {
    let (status, detail) = match &*state.geo {
        crate::geo::GeoProvider::Offline => (
            Up::Up,
            serde_json::json!({ "provider": "offline", "circuit": "closed" }),
        ),
        crate::geo::GeoProvider::Google(google) => {
            let open = google.breaker.is_open();
            (
                if open { Up::Degraded } else { Up::Up },
                serde_json::json!({
                    "provider": "google",
                    "circuit": if open { "open" } else { "closed" },
                    "recentFailures": google.breaker.failures(),
                }),
            )
        }
    };
    ServiceStatus {
        status,
        latency_ms: 0.0,
        detail: Some(detail),
        error: (status != Up::Up).then_some("circuit open: offline estimates in use"),
    }
}

fn check_memory() -> MemoryStatus {
    let memory = crate::metrics::MemoryUse::now();
    let utilization_percent = memory.utilization_percent();
    MemoryStatus {
        status: if utilization_percent.is_some_and(|p| p > MEMORY_DEGRADED_PERCENT) {
            Up::Degraded
        } else {
            Up::Up
        },
        resident_mb: memory.resident_mb,
        limit_mb: memory.limit_mb,
        utilization_percent,
    }
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
            status: Up::Up,
            latency_ms,
            detail,
            error: None,
        },
        Err(error) => ServiceStatus {
            status: Up::Down,
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
            "SELECT postgis_lib_version() AS postgis,
                    (SELECT max(version) FROM refinery_schema_history) AS schema_version,
                    current_setting('server_version') AS server_version,
                    (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()) AS connections,
                    (SELECT count(*) FROM pg_stat_activity
                      WHERE datname = current_database() AND state = 'active') AS active_connections,
                    current_setting('max_connections')::int AS max_connections",
            &[],
        )
        .await
        .map_err(|err| {
            tracing::warn!(error = %err, "health: database query failed");
            "query failed"
        })?;
    let failed = |_| "query failed";
    let postgis: String = row.col("postgis").map_err(failed)?;
    let schema_version: Option<i32> = row.col("schema_version").map_err(failed)?;
    let server_version: String = row.col("server_version").map_err(failed)?;
    let connections: i64 = row.col("connections").map_err(failed)?;
    let active: i64 = row.col("active_connections").map_err(failed)?;
    let max_connections: i32 = row.col("max_connections").map_err(failed)?;
    drop(client);
    Ok(Some(serde_json::json!({
        "postgis": postgis,
        "schemaVersion": schema_version,
        "serverVersion": server_version,
        "pool": state.db.pool_use(),
        "connections": {"total": connections, "active": active, "max": max_connections},
    })))
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
            tracing::warn!(error = %crate::error::chain(&err), "health: DynamoDB check failed");
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
            tracing::warn!(error = %crate::error::chain(&err), "health: S3 check failed");
            "unreachable"
        })
}
