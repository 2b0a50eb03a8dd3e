//! Prepared statements kept per connection, so a query is parsed and planned once per
//! connection instead of on every request.
//!
//! Every query goes through [`GenericClient`], implemented by a pooled [`Connection`] and
//! by a [`Transaction`] on it. The first time a connection sees a statement (its SQL and
//! parameter types), it prepares it as a named statement and keeps it in the connection's
//! [`StatementCache`]; later calls only bind and execute. PostgreSQL then plans the
//! statement generically once its custom plans stop paying off, which is why queries keep
//! their shape fixed for a caller kind (see `orders::Scope::sql`): a catch-all condition
//! such as `$1 OR user_id = $2` never gets a generic plan that uses the index.
//!
//! Behind RDS Proxy this stays multiplexed: since 2023 the proxy tracks statements
//! prepared through the extended query protocol (Parse, and Close when one is evicted) and
//! prepares them on whichever database connection serves the next transaction. Only
//! SQL-level `PREPARE`, `EXECUTE` and `DEALLOCATE` pin a session, and nothing here sends
//! them. The project's first rule was unnamed statements only, from when any Parse pinned;
//! a cache size of 0 (`DATABASE_STATEMENT_CACHE=0`) restores it, should the proxy's
//! `DatabaseConnectionsCurrentlySessionPinned` metric say otherwise.

use std::{future::Future, num::NonZeroUsize, sync::Mutex};

use lru::LruCache;
use tokio_postgres::{
    error::SqlState,
    types::{ToSql, Type},
    Error, Row, Statement,
};

/// One typed query parameter, as [`super::p`] builds it.
pub type Param<'a> = (&'a (dyn ToSql + Sync), Type);

/// Queries on a pooled connection or inside a transaction: the methods of tokio-postgres'
/// `GenericClient` that this project uses, through the connection's statement cache.
pub trait GenericClient: Sync {
    fn query_typed(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send;

    /// Exactly one row; none or several is an error.
    fn query_typed_one(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> impl Future<Output = Result<Row, Error>> + Send;

    /// At most one row; several is an error.
    fn query_typed_opt(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> impl Future<Output = Result<Option<Row>, Error>> + Send;

    /// The number of rows changed.
    fn execute_typed(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> impl Future<Output = Result<u64, Error>> + Send;

    /// Statements without parameters, sent as one simple query (never cached).
    fn batch_execute(&self, sql: &str) -> impl Future<Output = Result<(), Error>> + Send;
}

/// A connection's prepared statements, least recently used evicted first. Evicting drops
/// the statement, which closes it on the server.
pub struct StatementCache {
    statements: Option<Mutex<LruCache<StatementKey, Statement>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct StatementKey {
    sql: Box<str>,
    types: Box<[Type]>,
}

impl StatementKey {
    fn of(sql: &str, params: &[Param<'_>]) -> Self {
        Self {
            sql: sql.into(),
            types: params.iter().map(|(_, ty)| ty.clone()).collect(),
        }
    }
}

impl StatementCache {
    /// Keeps up to `capacity` statements; 0 keeps none.
    pub fn new(capacity: usize) -> Self {
        Self {
            statements: NonZeroUsize::new(capacity).map(|n| Mutex::new(LruCache::new(n))),
        }
    }

    /// How many statements are prepared on this connection.
    pub fn len(&self) -> usize {
        self.statements.as_ref().map_or(0, |s| lock(s).len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn enabled(&self) -> bool {
        self.statements.is_some()
    }

    fn get(&self, key: &StatementKey) -> Option<Statement> {
        self.statements
            .as_ref()
            .and_then(|s| lock(s).get(key).cloned())
    }

    fn put(&self, key: StatementKey, statement: Statement) {
        if let Some(statements) = &self.statements {
            lock(statements).put(key, statement);
        }
    }

    fn forget(&self, key: &StatementKey) {
        if let Some(statements) = &self.statements {
            lock(statements).pop(key);
        }
    }
}

/// The map is never left half-updated, so a panic elsewhere while it was held does not
/// make it unusable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A pooled PostgreSQL connection with its prepared statements.
pub struct Connection {
    client: tokio_postgres::Client,
    statements: StatementCache,
}

impl Connection {
    pub fn new(client: tokio_postgres::Client, statement_cache: usize) -> Self {
        Self {
            client,
            statements: StatementCache::new(statement_cache),
        }
    }

    /// Starts a transaction; it rolls back when dropped without [`Transaction::commit`].
    pub async fn transaction(&mut self) -> Result<Transaction<'_>, Error> {
        Ok(Transaction {
            inner: self.client.transaction().await?,
            statements: &self.statements,
        })
    }

    /// The tokio-postgres client itself, for what bypasses the cache: migrations, backup
    /// snapshots (their own isolation level) and restores (`COPY`).
    pub fn raw(&mut self) -> &mut tokio_postgres::Client {
        &mut self.client
    }

    /// The tokio-postgres client itself, bypassing the cache: ad-hoc SQL that runs once
    /// (tests, the load tool's seeding).
    pub fn uncached(&self) -> &tokio_postgres::Client {
        &self.client
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    pub async fn simple_query(
        &self,
        sql: &str,
    ) -> Result<Vec<tokio_postgres::SimpleQueryMessage>, Error> {
        self.client.simple_query(sql).await
    }

    pub fn statements(&self) -> &StatementCache {
        &self.statements
    }

    fn queries(&self) -> Queries<'_, tokio_postgres::Client> {
        Queries {
            client: &self.client,
            statements: &self.statements,
            may_retry: true,
        }
    }
}

/// A transaction on a [`Connection`], sharing its prepared statements.
pub struct Transaction<'a> {
    inner: tokio_postgres::Transaction<'a>,
    statements: &'a StatementCache,
}

impl Transaction<'_> {
    pub async fn commit(self) -> Result<(), Error> {
        self.inner.commit().await
    }

    pub async fn rollback(self) -> Result<(), Error> {
        self.inner.rollback().await
    }

    /// A savepoint: a nested transaction that rolls back alone.
    pub async fn transaction(&mut self) -> Result<Transaction<'_>, Error> {
        Ok(Transaction {
            inner: self.inner.transaction().await?,
            statements: self.statements,
        })
    }

    /// A named savepoint (see [`Transaction::transaction`]).
    pub async fn savepoint(&mut self, name: &str) -> Result<Transaction<'_>, Error> {
        Ok(Transaction {
            inner: self.inner.savepoint(name).await?,
            statements: self.statements,
        })
    }

    fn queries(&self) -> Queries<'_, tokio_postgres::Transaction<'_>> {
        Queries {
            client: &self.inner,
            statements: self.statements,
            // A failed statement aborts the transaction, so only the caller can retry.
            may_retry: false,
        }
    }
}

/// Runs queries on `client` through `statements`.
struct Queries<'a, C> {
    client: &'a C,
    statements: &'a StatementCache,
    may_retry: bool,
}

impl<C: tokio_postgres::GenericClient + Sync> Queries<'_, C> {
    /// The prepared statement for `sql` and the parameters' types, prepared on first use.
    async fn statement(&self, key: &StatementKey) -> Result<Statement, Error> {
        if let Some(statement) = self.statements.get(key) {
            return Ok(statement);
        }
        let statement = self.client.prepare_typed(&key.sql, &key.types).await?;
        self.statements.put(key.clone(), statement.clone());
        Ok(statement)
    }

    /// Runs `run` with the cached statement. A statement the schema has since changed under
    /// (a migration while this connection was open) is prepared again, and outside a
    /// transaction the query is retried once.
    async fn with_statement<'p, T, F, Fut>(
        &self,
        sql: &str,
        params: &[Param<'p>],
        run: F,
    ) -> Result<T, Error>
    where
        F: Fn(Statement, Vec<&'p (dyn ToSql + Sync)>) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let values = || params.iter().map(|(value, _)| *value).collect::<Vec<_>>();
        let key = StatementKey::of(sql, params);
        let result = run(self.statement(&key).await?, values()).await;
        match result {
            Err(err) if is_stale(&err) => {
                self.statements.forget(&key);
                if self.may_retry {
                    run(self.statement(&key).await?, values()).await
                } else {
                    Err(err)
                }
            }
            other => other,
        }
    }
}

/// The server no longer accepts a prepared statement: its result type changed, or the
/// server lost it.
fn is_stale(err: &Error) -> bool {
    err.as_db_error().is_some_and(|db| {
        db.code() == &SqlState::INVALID_SQL_STATEMENT_NAME
            || (db.code() == &SqlState::FEATURE_NOT_SUPPORTED
                && db
                    .message()
                    .starts_with("cached plan must not change result type"))
    })
}

/// The queries of [`GenericClient`] as inherent methods of a type that has [`Queries`]
/// (so a concrete connection or transaction needs no trait import, as in tokio-postgres),
/// and the trait's implementation by them.
macro_rules! cached_queries {
    ($ty:ty) => {
        impl $ty {
            pub async fn query_typed(
                &self,
                sql: &str,
                params: &[Param<'_>],
            ) -> Result<Vec<Row>, Error> {
                let q = self.queries();
                if !q.statements.enabled() {
                    return q.client.query_typed(sql, params).await;
                }
                q.with_statement(
                    sql,
                    params,
                    |s, v| async move { q.client.query(&s, &v).await },
                )
                .await
            }

            pub async fn query_typed_one(
                &self,
                sql: &str,
                params: &[Param<'_>],
            ) -> Result<Row, Error> {
                let q = self.queries();
                if !q.statements.enabled() {
                    return q.client.query_typed_one(sql, params).await;
                }
                q.with_statement(sql, params, |s, v| async move {
                    q.client.query_one(&s, &v).await
                })
                .await
            }

            pub async fn query_typed_opt(
                &self,
                sql: &str,
                params: &[Param<'_>],
            ) -> Result<Option<Row>, Error> {
                let q = self.queries();
                if !q.statements.enabled() {
                    return q.client.query_typed_opt(sql, params).await;
                }
                q.with_statement(sql, params, |s, v| async move {
                    q.client.query_opt(&s, &v).await
                })
                .await
            }

            pub async fn execute_typed(
                &self,
                sql: &str,
                params: &[Param<'_>],
            ) -> Result<u64, Error> {
                let q = self.queries();
                if !q.statements.enabled() {
                    return q.client.execute_typed(sql, params).await;
                }
                q.with_statement(
                    sql,
                    params,
                    |s, v| async move { q.client.execute(&s, &v).await },
                )
                .await
            }

            pub async fn batch_execute(&self, sql: &str) -> Result<(), Error> {
                self.queries().client.batch_execute(sql).await
            }
        }

        impl GenericClient for $ty {
            fn query_typed(
                &self,
                sql: &str,
                params: &[Param<'_>],
            ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send {
                <$ty>::query_typed(self, sql, params)
            }

            fn query_typed_one(
                &self,
                sql: &str,
                params: &[Param<'_>],
            ) -> impl Future<Output = Result<Row, Error>> + Send {
                <$ty>::query_typed_one(self, sql, params)
            }

            fn query_typed_opt(
                &self,
                sql: &str,
                params: &[Param<'_>],
            ) -> impl Future<Output = Result<Option<Row>, Error>> + Send {
                <$ty>::query_typed_opt(self, sql, params)
            }

            fn execute_typed(
                &self,
                sql: &str,
                params: &[Param<'_>],
            ) -> impl Future<Output = Result<u64, Error>> + Send {
                <$ty>::execute_typed(self, sql, params)
            }

            fn batch_execute(&self, sql: &str) -> impl Future<Output = Result<(), Error>> + Send {
                <$ty>::batch_execute(self, sql)
            }
        }
    };
}

cached_queries!(Connection);
cached_queries!(Transaction<'_>);
