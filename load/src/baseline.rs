//! The baseline: the least a server can do per request on this machine, measured in the
//! same run as the API so that each figure is read as a ratio, not against a machine that
//! is shared and noisy.
//!
//! It is a plain hyper HTTP/1 server answering every request with one PostgreSQL
//! primary-key lookup of a user (unnamed statements, as the API sends them through RDS
//! Proxy) over a few connections, and the row as JSON. No authorizer, no rate limit, no
//! Lambda event conversion: what the API adds over it is what the ratio shows.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use http_body_util::Full;
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_postgres::{types::Type, Client, NoTls};

use crate::{run::Target, traffic::Route, LoadError};

/// Connections the server spreads its queries over (tokio-postgres pipelines the
/// queries sent on one connection).
const CONNECTIONS: usize = 4;

struct Server {
    clients: Vec<Client>,
    user_ids: Vec<uuid::Uuid>,
    next: AtomicUsize,
}

impl Server {
    async fn answer(&self) -> Response<Full<Bytes>> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let client = &self.clients[n % self.clients.len()];
        let id = self.user_ids[n % self.user_ids.len()];
        let row = client
            .query_typed(
                "SELECT id, email, role FROM users WHERE id = $1",
                &[(&id, Type::UUID)],
            )
            .await;
        let (status, body) = match row.as_deref() {
            Ok([row, ..]) => (
                StatusCode::OK,
                json!({ "id": row.get::<_, uuid::Uuid>(0), "email": row.get::<_, String>(1), "role": row.get::<_, String>(2) }),
            ),
            Ok([]) => (StatusCode::NOT_FOUND, json!({ "error": "no such user" })),
            Err(err) => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "error": err.to_string() }),
            ),
        };
        let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() = status;
        response
    }
}

/// Connects to `database_url`, reads the ids it will look up, and serves on `listener`
/// until stopped.
pub async fn serve(database_url: &str, listener: TcpListener) -> Result<(), LoadError> {
    let mut clients = Vec::with_capacity(CONNECTIONS);
    let mut config: tokio_postgres::Config = database_url
        .parse()
        .map_err(|e| LoadError::Setup(format!("DATABASE_URL: {e}")))?;
    // Named, so the drivers benchmark counts the API's connections apart.
    config.application_name("load-baseline");
    for _ in 0..CONNECTIONS {
        let (client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|e| LoadError::Setup(format!("connecting to PostgreSQL: {e}")))?;
        tokio::spawn(connection);
        clients.push(client);
    }
    let user_ids: Vec<uuid::Uuid> = clients[0]
        .query_typed("SELECT id FROM users ORDER BY id LIMIT 1000", &[])
        .await
        .map_err(|e| LoadError::Setup(format!("reading user ids: {e}")))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if user_ids.is_empty() {
        return Err(LoadError::Setup(
            "the database has no users to look up: seed it first".into(),
        ));
    }
    let server = Arc::new(Server {
        clients,
        user_ids,
        next: AtomicUsize::new(0),
    });
    loop {
        let (stream, _) = listener.accept().await?;
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            let service = service_fn(move |_request| {
                let server = Arc::clone(&server);
                async move { Ok::<_, std::convert::Infallible>(server.answer().await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The load tool's side: `GET {base_url}/` as [`Route::Baseline`].
pub struct Baseline {
    url: String,
    client: reqwest::Client,
}

impl Baseline {
    pub fn new(base_url: &str) -> Result<Self, LoadError> {
        Ok(Self {
            url: format!("{}/", base_url.trim_end_matches('/')),
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .pool_max_idle_per_host(256)
                .build()?,
        })
    }
}

impl Target for Baseline {
    fn send(
        &self,
        _n: u64,
        _route: Route,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send {
        crate::traffic::outcome(self.client.get(&self.url))
    }
}
