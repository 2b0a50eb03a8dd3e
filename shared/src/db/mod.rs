//! PostgreSQL access: the connection pool, typed query parameters and migrations.
//!
//! Queries go through [`GenericClient`]'s `query_typed` / `execute_typed` with parameters
//! built by [`p`], which pairs each value with its PostgreSQL type, so preparing a
//! statement never needs a round trip to look types up. Each connection keeps its prepared
//! statements ([`statements`]). Enumerations are `text` columns with `CHECK` constraints and
//! PostGIS values travel as text (`ST_GeogFromText`, `ST_AsText`), so no query needs a
//! custom-type lookup.

mod statements;

use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use tokio_postgres::types::ToSql;

use crate::{
    aws::SdkLoader,
    config::DatabaseConfig,
    error::{ApiError, Category},
};

pub use statements::{Connection, GenericClient, Param, StatementCache, Transaction};
pub use tokio_postgres::Row;

/// A pooled connection; dereferences to [`Connection`].
pub type DbClient = managed::Object<PgManager>;

/// The connection pool. Connections are opened lazily, so a cold start succeeds while the
/// database is down and health checks can report it.
#[derive(Clone)]
pub struct Db {
    pool: managed::Pool<PgManager>,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("could not connect to PostgreSQL: {0}")]
    Connect(#[from] tokio_postgres::Error),
    #[error("could not sign an RDS IAM auth token: {0}")]
    IamToken(String),
}

/// The pool's use, for the health report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolUse {
    pub max_size: usize,
    /// Connections open.
    pub open: usize,
    /// Open and idle.
    pub idle: usize,
    /// Requests waiting for one.
    pub waiting: usize,
}

impl Db {
    pub fn pool_use(&self) -> PoolUse {
        let status = self.pool.status();
        PoolUse {
            max_size: status.max_size,
            open: status.size,
            idle: status.available,
            waiting: status.waiting,
        }
    }

    pub fn new(config: &DatabaseConfig, sdk: &SdkLoader) -> Self {
        let manager = PgManager {
            config: config.clone(),
            sdk: sdk.clone(),
            tls: tls_connector(),
        };
        let pool = managed::Pool::builder(manager)
            .max_size(config.pool_size)
            .runtime(deadpool::Runtime::Tokio1)
            .create_timeout(Some(config.connect_timeout))
            .wait_timeout(Some(config.connect_timeout))
            .recycle_timeout(Some(Duration::from_secs(1)))
            .build()
            // Only fails without a runtime, which is set above.
            .unwrap_or_else(|e| panic!("pool configuration is invalid: {e}"));
        Self { pool }
    }

    /// A small pool over another database of the same server, with the same credentials
    /// (restores and verifications load into their own database).
    pub fn for_database(&self, database: &str) -> Self {
        let manager = self.pool.manager();
        let mut config = manager.config.clone();
        config.pg.dbname(database);
        config.pool_size = 2;
        Self::new(&config, &manager.sdk)
    }

    /// A connection from the pool; failure to get one is a 503, not a 500.
    ///
    /// The pool's future holds the whole of opening a connection (IAM token, TLS,
    /// startup), about 37 KB, so it is boxed: inline, every request's future would carry
    /// it and copy it each time the future moves (the gateway's profile showed those
    /// copies as its largest cost).
    #[track_caller]
    pub fn get(&self) -> impl std::future::Future<Output = Result<DbClient, ApiError>> + '_ {
        let location = std::panic::Location::caller();
        async move {
            Box::pin(self.pool.get()).await.map_err(|err| {
                let mut err = ApiError::service_unavailable("the database is unavailable")
                    .in_category(Category::Database)
                    .with_source(err.to_string())
                    .doing("getting a database connection");
                err.set_location(location);
                err
            })
        }
    }

    /// Opens a first connection, and with `postgis` loads PostGIS into it, so the first
    /// request does not pay for either. Failures are ignored: the request path reports
    /// them properly.
    pub async fn warm_up(&self, postgis: bool) {
        if let Ok(client) = self.get().await {
            let query = if postgis {
                "SELECT postgis_lib_version()"
            } else {
                "SELECT 1"
            };
            let warm = client.simple_query(query).await;
            if let Err(err) = warm {
                tracing::warn!(error = %err, "database warm-up query failed");
            }
        }
    }
}

/// Opens connections for the pool, with a fresh IAM token for each when configured.
pub struct PgManager {
    config: DatabaseConfig,
    /// Only IAM tokens need it: without IAM auth a connection opens while it loads.
    sdk: SdkLoader,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
}

impl PgManager {
    async fn connection_config(&self) -> Result<tokio_postgres::Config, DbError> {
        let mut pg = self.config.pg.clone();
        pg.connect_timeout(self.config.connect_timeout);
        if self.config.iam_auth {
            let user = pg.get_user().unwrap_or_default().to_owned();
            let generator_config = aws_sdk_rds::auth_token::Config::builder()
                .hostname(&self.config.host)
                .port(u64::from(self.config.port))
                .username(user)
                .build()
                .map_err(|e| DbError::IamToken(e.to_string()))?;
            let token = aws_sdk_rds::auth_token::AuthTokenGenerator::new(generator_config)
                .auth_token(self.sdk.get().await)
                .await
                .map_err(|e| DbError::IamToken(e.to_string()))?;
            pg.password(token.as_str());
        }
        Ok(pg)
    }
}

impl managed::Manager for PgManager {
    type Type = Connection;
    type Error = DbError;

    #[tracing::instrument(name = "open_database_connection", skip_all)]
    async fn create(&self) -> Result<Self::Type, Self::Error> {
        let pg = self.connection_config().await?;
        let (client, connection) = pg.connect(self.tls.clone()).await?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "database connection closed");
            }
        });
        Ok(Connection::new(client, self.config.statement_cache))
    }

    async fn recycle(&self, client: &mut Self::Type, _: &Metrics) -> RecycleResult<Self::Error> {
        if client.is_closed() {
            Err(RecycleError::message("connection closed"))
        } else {
            Ok(())
        }
    }
}

fn tls_connector() -> tokio_postgres_rustls::MakeRustlsConnect {
    // RDS Proxy presents an ACM certificate, which chains to the public web roots.
    tokio_postgres_rustls::MakeRustlsConnect::new(crate::tls::web_client_config())
}

pub use crate::sql_type::SqlType;

/// Reading a row's columns by name, so a query's column order is free to change.
pub trait RowExt {
    /// The column `name` as `T`; a missing column or a type mismatch is a 500 naming it.
    fn col<'a, T: tokio_postgres::types::FromSql<'a>>(&'a self, name: &str) -> Result<T, ApiError>;
}

impl RowExt for Row {
    fn col<'a, T: tokio_postgres::types::FromSql<'a>>(&'a self, name: &str) -> Result<T, ApiError> {
        self.try_get(name)
            .map_err(|err| ApiError::internal(format!("reading column {name}: {err}")))
    }
}

/// A violated constraint, by name, as what it means to the client; any other error as
/// usual (the model is realworld-axum-sqlx's `on_constraint`):
///
/// ```ignore
/// insert.await.on_constraint("users_email_key", || ApiError::conflict("email_taken", "…"))?;
/// ```
pub trait OnConstraint<T> {
    fn on_constraint(self, name: &str, meaning: impl FnOnce() -> ApiError) -> Result<T, ApiError>;
}

impl<T> OnConstraint<T> for Result<T, tokio_postgres::Error> {
    #[track_caller]
    fn on_constraint(self, name: &str, meaning: impl FnOnce() -> ApiError) -> Result<T, ApiError> {
        self.map_err(|err| {
            if err.as_db_error().and_then(|e| e.constraint()) == Some(name) {
                meaning().with_source(err)
            } else {
                ApiError::from(err)
            }
        })
    }
}

/// A value read from one row by column names: `#[derive(FromRow)]` writes it field by
/// field (see `shared-derive` for the field attributes).
pub trait FromRow: Sized {
    /// Reads every column under `prefix` (`pickup_` reads `id` from `pickup_id`).
    fn from_row_prefixed(row: &Row, prefix: &str) -> Result<Self, ApiError>;

    fn from_row(row: &Row) -> Result<Self, ApiError> {
        Self::from_row_prefixed(row, "")
    }

    /// Every row of a query.
    fn from_rows(rows: &[Row]) -> Result<Vec<Self>, ApiError> {
        rows.iter().map(Self::from_row).collect()
    }
}

pub use shared_derive::FromRow;

/// A column's name under a prefix, borrowed when there is none (the common case).
pub fn column<'a>(prefix: &str, name: &'a str) -> std::borrow::Cow<'a, str> {
    if prefix.is_empty() {
        std::borrow::Cow::Borrowed(name)
    } else {
        std::borrow::Cow::Owned(format!("{prefix}{name}"))
    }
}

/// One typed query parameter: `client.query_typed(sql, &[p(&id), p(&name)])`.
pub fn p<T: ToSql + SqlType + Sync>(value: &T) -> Param<'_> {
    (value, T::PG_TYPE)
}

mod embedded {
    refinery::embed_migrations!("../infra/migrations");
}

/// Key of the advisory lock that keeps two migration runs from interleaving.
const MIGRATION_LOCK: i64 = 0x5245_4144_5953_4554; // "READYSET"

/// Applies every pending migration in order, each in its own transaction, and returns the
/// versions applied. Safe to run concurrently and repeatedly.
pub async fn migrate(client: &mut tokio_postgres::Client) -> Result<Vec<String>, ApiError> {
    client
        .execute_typed("SELECT pg_advisory_lock($1)", &[p(&MIGRATION_LOCK)])
        .await?;
    let result = embedded::migrations::runner()
        .set_abort_divergent(true)
        .run_async(client)
        .await;
    let unlock = client
        .execute_typed("SELECT pg_advisory_unlock($1)", &[p(&MIGRATION_LOCK)])
        .await;
    let report = result.map_err(ApiError::internal)?;
    unlock?;
    Ok(report
        .applied_migrations()
        .iter()
        .map(|m| m.to_string())
        .collect())
}

/// The newest migration version compiled into this build.
pub fn latest_migration_version() -> i64 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// Identifies the exact migration set of this build (versions and checksums), so a
/// prepared database can be reused only while the schema it holds is current.
pub fn migrations_fingerprint() -> String {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| format!("{}:{:x}", m.version(), m.checksum()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Double-quotes an SQL identifier (a table or column name read from the catalog).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One migration compiled into this build, as a backup stores it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MigrationScript {
    pub version: i64,
    pub name: String,
    /// Refinery's checksum, as it writes it into `refinery_schema_history`.
    pub checksum: String,
    pub sql: String,
}

/// Every migration compiled into this build, oldest first.
pub fn migration_scripts() -> Vec<MigrationScript> {
    let mut scripts: Vec<MigrationScript> = embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| MigrationScript {
            version: i64::from(m.version()),
            name: m.name().to_owned(),
            checksum: m.checksum().to_string(),
            sql: m.sql().unwrap_or_default().to_owned(),
        })
        .collect();
    scripts.sort_by_key(|m| m.version);
    scripts
}

/// Applies stored migration scripts (a backup's) to an empty database, recording them in
/// `refinery_schema_history` as the migrate function would.
pub async fn migrate_with(
    client: &mut tokio_postgres::Client,
    scripts: &[MigrationScript],
) -> Result<(), ApiError> {
    let migrations = scripts
        .iter()
        .map(|m| refinery::Migration::unapplied(&format!("V{}__{}", m.version, m.name), &m.sql))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::internal)?;
    refinery::Runner::new(&migrations)
        .set_abort_divergent(true)
        .run_async(client)
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}
