//! `GET /api/health/database`: what the database is doing, from PostgreSQL's own
//! statistics views: size, cache hit ratio, connections, the slowest statements (from
//! `pg_stat_statements` when the extension is loaded), index use, table statistics and
//! queries running long. Statement texts are sanitised like error messages.

use serde::Serialize;
use serde_json::{json, Value};

use crate::{
    db::{p, DbClient, RowExt},
    error::Context,
    monitoring::sanitize,
    ApiResult, AppState,
};

/// A statement running longer than this is listed as long-running, unless the caller
/// asks for another threshold (`?longRunningMs=`, 100 ms to an hour).
pub const LONG_RUNNING_DEFAULT_MS: i64 = 5_000;

/// The long-running threshold a request asks for, in milliseconds.
pub fn long_running_ms(raw: Option<&str>) -> ApiResult<i64> {
    let Some(raw) = raw else {
        return Ok(LONG_RUNNING_DEFAULT_MS);
    };
    raw.parse::<i64>()
        .ok()
        .filter(|ms| (100..=3_600_000).contains(ms))
        .ok_or_else(|| {
            crate::ApiError::validation(vec![crate::error::FieldError::new(
                "longRunningMs",
                "must be a whole number of milliseconds from 100 to 3600000",
            )])
        })
}
/// Rows listed per section.
const TOP: i64 = 10;
/// Characters of a statement's text shown.
const QUERY_CHARS: i32 = 300;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseReport {
    pub database: String,
    pub size_bytes: i64,
    /// Share of block reads served from shared buffers since statistics were reset.
    pub cache_hit_ratio: Option<f64>,
    pub connections: Value,
    pub pool: crate::db::PoolUse,
    pub slowest_statements: SlowStatements,
    pub indexes: Vec<Value>,
    pub unused_indexes: Vec<Value>,
    pub tables: Vec<Value>,
    pub long_running: Vec<Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SlowStatements {
    pub available: bool,
    /// Why not, when not available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub statements: Vec<Value>,
}

pub async fn report(state: &AppState, long_running_ms: i64) -> ApiResult<DatabaseReport> {
    let client = state.db.get().await?;
    let overview = client
        .query_typed_one(
            "SELECT current_database() AS database,
                    pg_database_size(current_database()) AS size_bytes,
                    (SELECT round(blks_hit::numeric / nullif(blks_hit + blks_read, 0), 4)::float8
                       FROM pg_stat_database WHERE datname = current_database()) AS cache_hit_ratio,
                    (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()) AS total,
                    (SELECT count(*) FROM pg_stat_activity
                      WHERE datname = current_database() AND state = 'active') AS active,
                    (SELECT count(*) FROM pg_stat_activity
                      WHERE datname = current_database() AND state = 'idle') AS idle,
                    (SELECT count(*) FROM pg_stat_activity
                      WHERE datname = current_database() AND state LIKE 'idle in transaction%') AS idle_in_transaction,
                    (SELECT count(*) FROM pg_stat_activity
                      WHERE datname = current_database() AND wait_event_type = 'Lock') AS waiting_on_locks,
                    current_setting('max_connections')::int AS max_connections",
            &[],
        )
        .await
        .context("reading database statistics")?;
    let connections = json!({
        "total": overview.col::<i64>("total")?,
        "active": overview.col::<i64>("active")?,
        "idle": overview.col::<i64>("idle")?,
        "idleInTransaction": overview.col::<i64>("idle_in_transaction")?,
        "waitingOnLocks": overview.col::<i64>("waiting_on_locks")?,
        "max": overview.col::<i32>("max_connections")?,
    });
    let (slowest, indexes, unused, tables, long_running) = (
        slowest_statements(&client).await,
        rows(
            &client,
            "SELECT s.relname AS \"tableName\", s.indexrelname AS \"indexName\", s.idx_scan AS scans,
                    s.idx_tup_read AS \"tuplesRead\", pg_relation_size(s.indexrelid) AS \"sizeBytes\"
               FROM pg_stat_user_indexes s
              ORDER BY s.idx_scan DESC, s.indexrelname
              LIMIT $1",
        )
        .await?,
        rows(
            &client,
            "SELECT s.relname AS \"tableName\", s.indexrelname AS \"indexName\",
                    pg_relation_size(s.indexrelid) AS \"sizeBytes\"
               FROM pg_stat_user_indexes s
               JOIN pg_index i ON i.indexrelid = s.indexrelid
              WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
              ORDER BY pg_relation_size(s.indexrelid) DESC, s.indexrelname
              LIMIT $1",
        )
        .await?,
        rows(
            &client,
            "SELECT relname AS \"tableName\", n_live_tup AS \"liveRows\", n_dead_tup AS \"deadRows\",
                    seq_scan AS \"sequentialScans\", coalesce(idx_scan, 0) AS \"indexScans\",
                    pg_total_relation_size(relid) AS \"sizeBytes\",
                    to_char(greatest(last_vacuum, last_autovacuum) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS \"lastVacuum\",
                    to_char(greatest(last_analyze, last_autoanalyze) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS \"lastAnalyze\"
               FROM pg_stat_user_tables
              ORDER BY pg_total_relation_size(relid) DESC, relname
              LIMIT $1",
        )
        .await?,
        long_running_queries(&client, long_running_ms).await?,
    );
    Ok(DatabaseReport {
        database: overview.col("database")?,
        size_bytes: overview.col("size_bytes")?,
        cache_hit_ratio: overview.col("cache_hit_ratio")?,
        connections,
        pool: state.db.pool_use(),
        slowest_statements: slowest,
        indexes,
        unused_indexes: unused,
        tables,
        long_running,
    })
}

/// A statistics query's rows as JSON objects (`$1` is the row limit).
async fn rows(client: &DbClient, sql: &str) -> ApiResult<Vec<Value>> {
    let wrapped =
        format!("SELECT coalesce(json_agg(row_to_json(r)), '[]'::json) AS rows FROM ({sql}) r");
    let row = client
        .query_typed_one(&wrapped, &[p(&TOP)])
        .await
        .context("reading database statistics")?;
    let rows: Value = row.col::<tokio_postgres::types::Json<Value>>("rows")?.0;
    Ok(rows.as_array().cloned().unwrap_or_default())
}

pub async fn slowest_statements(client: &DbClient) -> SlowStatements {
    let sql = format!(
        "SELECT left(query, {QUERY_CHARS}) AS query, calls,
                round(mean_exec_time::numeric, 3)::float8 AS \"meanMs\",
                round(max_exec_time::numeric, 3)::float8 AS \"maxMs\",
                round(total_exec_time::numeric, 1)::float8 AS \"totalMs\", rows
           FROM pg_stat_statements
          WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          ORDER BY mean_exec_time DESC
          LIMIT $1"
    );
    let installed = client
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS installed",
            &[],
        )
        .await
        .ok()
        .and_then(|row| row.col::<bool>("installed").ok())
        .unwrap_or(false);
    if !installed {
        return SlowStatements {
            available: false,
            reason: Some("the pg_stat_statements extension is not installed".into()),
            statements: Vec::new(),
        };
    }
    match rows(client, &sql).await {
        Ok(mut statements) => {
            for statement in &mut statements {
                if let Some(query) = statement["query"].as_str() {
                    statement["query"] = Value::String(sanitize::text(query));
                }
            }
            SlowStatements {
                available: true,
                reason: None,
                statements,
            }
        }
        // Created but not preloaded (`shared_preload_libraries`): the view refuses reads.
        Err(err) => SlowStatements {
            available: false,
            reason: Some(format!(
                "pg_stat_statements cannot be read: {}",
                std::error::Error::source(&err)
                    .map_or_else(|| err.message.clone(), |e| e.to_string())
            )),
            statements: Vec::new(),
        },
    }
}

async fn long_running_queries(client: &DbClient, threshold_ms: i64) -> ApiResult<Vec<Value>> {
    let sql = format!(
        "SELECT pid, state, wait_event_type AS \"waitEventType\", wait_event AS \"waitEvent\",
                round(extract(epoch FROM now() - query_start)::numeric * 1000, 0)::float8 AS \"runningMs\",
                left(query, {QUERY_CHARS}) AS query
           FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND state <> 'idle' AND query_start < now() - interval '{threshold_ms} milliseconds'
          ORDER BY query_start
          LIMIT $1"
    );
    let mut found = rows(client, &sql).await?;
    for query in &mut found {
        if let Some(text) = query["query"].as_str() {
            query["query"] = Value::String(sanitize::text(text));
        }
    }
    Ok(found)
}
