//! Test harness for whole-API tests.
//!
//! [`TestApp::spawn`] gives each test its own world, so tests run in parallel:
//! - a database created in milliseconds from a migrated template database
//!   (`CREATE DATABASE … TEMPLATE`), dropped when the test ends;
//! - its own DynamoDB table and S3 buckets (a per-test name prefix) in the one emulator;
//! - the local gateway serving `template.yaml` (and its area stacks) on 127.0.0.1 on a free port.
//!
//! Every response the gateway gives is checked against `infra/openapi.yaml` ([`openapi`]);
//! a test whose responses do not match it fails when its [`TestApp`] is dropped.
//!
//! It needs the services `scripts/test` starts: `TEST_DATABASE_ADMIN_URL` (a superuser
//! connection to the test cluster) and `AWS_ENDPOINT_URL` (the emulator).

// The sample-event run awaits every function's cold start and request path in one
// future: computing its layout passes the default query depth of 128.
#![recursion_limit = "256"]

pub mod openapi;
pub mod samples;

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use local_stack::{provision, Gateway};
use serde_json::Value;
use shared::{
    auth::{passwords, sessions, Role},
    config::Config,
    db::{p, DbClient},
    AppState,
};
use tokio::task::JoinHandle;

/// Name of the migrated database every test database is copied from.
const TEMPLATE_DB: &str = "readyset_test_template";
/// Serializes template preparation across the test processes.
const TEMPLATE_LOCK: i64 = 0x5445_5354_5450_4c00;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_ADMIN_URL").unwrap_or_else(|_| {
        panic!(
            "TEST_DATABASE_ADMIN_URL is not set: run the tests with scripts/test, which starts \
             PostgreSQL + PostGIS and the AWS emulator"
        )
    })
}

fn url_for_database(admin_url: &str, database: &str) -> String {
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url, |(base, _)| base);
    format!("{base}/{database}")
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test cluster at {url}: {e}"));
    tokio::spawn(connection);
    client
}

/// Creates (or reuses) the migrated template, then copies it to a fresh database.
async fn create_test_database(name: &str) {
    let admin = connect(&admin_url()).await;
    admin
        .batch_execute(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
        .await
        .expect("lock");
    let fingerprint = shared::db::migrations_fingerprint();
    let current: Option<String> = admin
        .query_opt(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            &[&TEMPLATE_DB],
        )
        .await
        .expect("read template")
        .and_then(|row| row.get(0));
    if current.as_deref() != Some(fingerprint.as_str()) {
        // One statement per call: DROP/CREATE DATABASE refuse to run in a transaction.
        for statement in [
            format!("DROP DATABASE IF EXISTS {TEMPLATE_DB} WITH (FORCE)"),
            format!("CREATE DATABASE {TEMPLATE_DB}"),
        ] {
            admin
                .batch_execute(&statement)
                .await
                .expect("create template database");
        }
        {
            let mut client = connect(&url_for_database(&admin_url(), TEMPLATE_DB)).await;
            shared::db::migrate(&mut client)
                .await
                .expect("migrate template database");
        }
        admin
            .batch_execute(&format!(
                "COMMENT ON DATABASE {TEMPLATE_DB} IS '{fingerprint}'"
            ))
            .await
            .expect("mark template");
    }
    admin
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}"))
        .await
        .expect("create test database");
    admin
        .batch_execute(&format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"))
        .await
        .expect("unlock");
}

/// Settings for one test: its database, its AWS names, the emulator from the environment.
pub fn test_config(database_url: &str, prefix: &str, overrides: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("APP_ENV".into(), "local".into()),
        ("DATABASE_URL".into(), database_url.into()),
        ("DATABASE_POOL_SIZE".into(), "8".into()),
        ("DATABASE_CONNECT_TIMEOUT_MS".into(), "2000".into()),
        ("APP_TABLE".into(), format!("{prefix}-app")),
        ("UPLOADS_BUCKET".into(), format!("{prefix}-uploads")),
        ("BACKUPS_BUCKET".into(), format!("{prefix}-backups")),
        ("JWT_SECRET_ID".into(), format!("{prefix}-jwt")),
        // One key for every test's backups (each backup has its own data key under it).
        (
            "BACKUP_KMS_KEY_ID".into(),
            "alias/readyset-test-backups".into(),
        ),
        ("SERVICE_NAME".into(), "api-tests".into()),
        // Metric lines are built but dropped: putting every test's metrics into the one
        // emulator would slow it for all. Tests of the metrics turn them on (`emf`), each
        // in its own namespace.
        ("METRICS".into(), "off".into()),
        ("METRICS_NAMESPACE".into(), format!("{prefix}-metrics")),
        // Receivers in tests listen on 127.0.0.1 over http; retries are fast.
        ("WEBHOOK_ALLOW_INSECURE".into(), "true".into()),
        ("OUTBOX_RETRY_BASE_MS".into(), "20".into()),
        ("OUTBOX_RETRY_MAX_MS".into(), "200".into()),
        ("WEBHOOK_TIMEOUT_MS".into(), "2000".into()),
        (
            "NOTIFICATION_SENDER".into(),
            "Ready Set <deliveries@readyset.test>".into(),
        ),
        // Texts go to the emulator's SNS, which keeps them for the tests to read.
        ("CUSTOMER_SMS".into(), "true".into()),
        (
            "TRACKING_PAGE_URL".into(),
            "https://track.readyset.test/t/".into(),
        ),
    ]);
    // The test's own offer-expiry queue in the emulator (created by provisioning).
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
        vars.insert(
            "OFFER_EXPIRY_QUEUE_URL".into(),
            format!("{endpoint}/123456789012/{prefix}-offer-expiry"),
        );
    }
    for (key, value) in overrides {
        vars.insert((*key).into(), (*value).into());
    }
    Config::from_lookup(|key| vars.get(key).cloned().or_else(|| std::env::var(key).ok()))
        .expect("test configuration")
}

pub struct TestApp {
    pub address: SocketAddr,
    pub http: reqwest::Client,
    pub state: AppState,
    pub database: String,
    pub route_keys: Vec<String>,
    server: JoinHandle<()>,
    /// Responses that do not match `infra/openapi.yaml`.
    violations: Arc<Mutex<Vec<String>>>,
}

/// Records why a response does not match the API description, if it does not.
fn record_violation(
    violations: &Mutex<Vec<String>>,
    route_key: &str,
    response: &lambda_http::Response<lambda_http::Body>,
) {
    let body: &[u8] = match response.body() {
        lambda_http::Body::Text(text) => text.as_bytes(),
        lambda_http::Body::Binary(bytes) => bytes,
        _ => &[],
    };
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    if let Some(violation) =
        openapi::OpenApi::get().violation(route_key, response.status().as_u16(), content_type, body)
    {
        violations.lock().expect("violations").push(violation);
    }
}

impl TestApp {
    /// A fresh database, fresh AWS resources and a gateway on a free port.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// As [`TestApp::spawn`], with extra configuration variables.
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> Self {
        shared::telemetry::init_tracing();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let database = format!("t_{}", &id[..16]);
        create_test_database(&database).await;
        let database_url = url_for_database(&admin_url(), &database);
        let prefix = format!("t-{}", &id[..16]);
        let state = AppState::from_config(test_config(&database_url, &prefix, overrides)).await;
        provision::ensure_aws_resources(&state)
            .await
            .expect("create the test's AWS resources in the emulator");
        Self::serve(state, database).await
    }

    /// As [`TestApp::spawn`], with committed status changes waking the outbox relay at
    /// once and new dispatch plans handed to the planner: the functions invoke them
    /// through Lambda's Invoke API, which this app's gateway serves (the relay's schedule
    /// does not run in tests).
    pub async fn spawn_waking_relay() -> Self {
        shared::telemetry::init_tracing();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let lambda = format!("http://{}", listener.local_addr().expect("address"));
        let id = uuid::Uuid::new_v4().simple().to_string();
        let database = format!("t_{}", &id[..16]);
        create_test_database(&database).await;
        let database_url = url_for_database(&admin_url(), &database);
        let prefix = format!("t-{}", &id[..16]);
        let overrides = [
            ("OUTBOX_RELAY_FUNCTION", "outbox-relay"),
            ("PLANNER_FUNCTION", "dispatch-plan-solve"),
            ("AWS_ENDPOINT_URL_LAMBDA", lambda.as_str()),
        ];
        let state = AppState::from_config(test_config(&database_url, &prefix, &overrides)).await;
        provision::ensure_aws_resources(&state)
            .await
            .expect("create the test's AWS resources in the emulator");
        let gateway = Gateway::from_template(&repo_root().join("template.yaml"), state)
            .expect("gateway from template.yaml");
        Self::serve_gateway_on(gateway, database, listener).await
    }

    /// A gateway over an existing state (for tests that break a dependency on purpose).
    pub async fn serve(state: AppState, database: String) -> Self {
        Self::serve_gateway(
            Gateway::from_template(&repo_root().join("template.yaml"), state.clone())
                .expect("gateway from template.yaml"),
            database,
        )
        .await
    }

    /// As [`TestApp::spawn_with`], geocoding with the Google provider against `google` (a
    /// stand-in on 127.0.0.1), its key in the emulator's Secrets Manager.
    pub async fn spawn_with_google(google: &Receiver, overrides: &[(&str, &str)]) -> Self {
        let base_url = google.url.trim_end_matches("/hooks/readyset").to_owned();
        let secret_id = format!("readyset/google-maps-{}", uuid::Uuid::new_v4().simple());
        let mut settings = vec![
            ("GEO_PROVIDER", "google"),
            ("GOOGLE_MAPS_BASE_URL", base_url.as_str()),
            ("GOOGLE_MAPS_SECRET_ID", secret_id.as_str()),
        ];
        settings.extend_from_slice(overrides);
        let app = Self::spawn_with(&settings).await;
        app.state
            .secrets
            .create_secret()
            .name(&secret_id)
            .secret_string("maps-key-123")
            .send()
            .await
            .expect("secret");
        app
    }

    /// As [`TestApp::spawn`], with the authorizer's cache period replaced.
    pub async fn spawn_with_authorizer_ttl(ttl: std::time::Duration) -> Self {
        let mut app = Self::spawn().await;
        let database = std::mem::take(&mut app.database);
        let state = app.state.clone();
        drop(app);
        let gateway = Gateway::from_template(&repo_root().join("template.yaml"), state)
            .expect("gateway from template.yaml")
            .with_authorizer_ttl(ttl);
        Self::serve_gateway(gateway, database).await
    }

    async fn serve_gateway(gateway: Gateway, database: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        Self::serve_gateway_on(gateway, database, listener).await
    }

    async fn serve_gateway_on(
        gateway: Gateway,
        database: String,
        listener: tokio::net::TcpListener,
    ) -> Self {
        let violations: Arc<Mutex<Vec<String>>> = Arc::default();
        let seen = Arc::clone(&violations);
        let gateway = gateway.with_response_check(Arc::new(move |route, response| {
            record_violation(&seen, route, response)
        }));
        let state = gateway.state().clone();
        let route_keys = gateway.route_keys();
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(async move {
            let _ = Arc::new(gateway).serve(listener).await;
        });
        Self {
            address,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            state,
            database,
            route_keys,
            server,
            violations,
        }
    }

    /// Checks a response a test got from a handler directly against the API description.
    pub fn check_response(
        &self,
        route_key: &str,
        response: &lambda_http::Response<lambda_http::Body>,
    ) {
        record_violation(&self.violations, route_key, response);
    }

    /// Delivers the test's offer-expiry queue to `dispatch-offer-expire` in the background,
    /// as the local gateway does (tests do not otherwise poll it); abort the handle to stop.
    pub fn deliver_offer_expiries(&self) -> JoinHandle<()> {
        local_stack::queue::offer_expiries(self.state.clone())
            .expect("the test's offer-expiry queue is configured")
    }

    /// Loads the demo data `scripts/run` loads (the sample events refer to it).
    pub async fn seed(&self) {
        local_stack::seed::seed(&self.state)
            .await
            .expect("load the demo data");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// An HTTP client whose requests come from another loopback address (`127.0.0.2`,
    /// …): another source IP, as the gateway sees it.
    pub fn client_from(&self, ip: [u8; 4]) -> reqwest::Client {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(ip))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client")
    }

    /// A partner API GET from `client`, with the `partner` and `x-api-key` headers.
    pub async fn partner_get(
        &self,
        client: &reqwest::Client,
        path: &str,
        slug: &str,
        key: &str,
    ) -> reqwest::Response {
        client
            .get(self.url(path))
            .header("partner", slug)
            .header("x-api-key", key)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("request")
    }

    /// A request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }

    /// An ACTIVE account of `role` with a live session and access token, created the way
    /// signup and login would (argon2 hash, DynamoDB session, signed token).
    pub async fn user(&self, role: Role) -> TestUser {
        self.user_with_status(role, "ACTIVE").await
    }

    pub async fn user_with_status(&self, role: Role, status: &str) -> TestUser {
        let email = format!(
            "{}-{}@example.com",
            role.as_str().to_lowercase(),
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
        let hash = passwords::hash(&password).await.expect("hash");
        let id: uuid::Uuid = self
            .db()
            .await
            .query_typed_one(
                "INSERT INTO users (email, password_hash, role, status, name) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[p(&email), p(&hash), p(&role.as_str()), p(&status), p(&"Test User")],
            )
            .await
            .expect("insert user")
            .get(0);
        // As sign-up and role changes do, every DRIVER account has its driver record.
        if role == Role::Driver {
            shared::drivers::enrol(&*self.db().await, id, None)
                .await
                .expect("driver record");
        }
        let (session, refresh_token) = sessions::create(&self.state, id, role)
            .await
            .expect("session");
        let (token, _) =
            self.state
                .jwt()
                .await
                .expect("keys")
                .issue(id, session.id, role, chrono::Utc::now());
        TestUser {
            id,
            email,
            password,
            role,
            token,
            refresh_token,
            session_id: session.id,
        }
    }
}

/// An account made by [`TestApp::user`].
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: uuid::Uuid,
    pub email: String,
    pub password: String,
    pub role: Role,
    pub token: String,
    pub refresh_token: String,
    pub session_id: uuid::Uuid,
}

impl TestApp {
    /// A connection to this test's database, for arranging and checking rows.
    pub async fn db(&self) -> DbClient {
        self.state.db.get().await.expect("test database connection")
    }

    pub fn admin_url() -> String {
        admin_url()
    }

    /// The URL of this test's database (for a second server over the same data).
    pub fn database_url(&self) -> String {
        url_for_database(&admin_url(), &self.database)
    }

    /// Takes the database away under the running pool (refusing new connections and
    /// cutting the open ones, as a stop or failover would), or gives it back.
    pub async fn set_database_reachable(&self, reachable: bool) {
        let (admin, connection) = tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls)
            .await
            .expect("admin connection");
        tokio::spawn(connection);
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {} ALLOW_CONNECTIONS {reachable}",
                self.database
            ))
            .await
            .expect("alter database");
        if !reachable {
            admin
                .batch_execute(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
                    self.database
                ))
                .await
                .expect("cut open connections");
        }
    }
}

/// A TCP forwarder between one test's app and the test cluster, which the test can cut
/// and restore: while cut, new connections are refused and open ones are reset, as when
/// PostgreSQL stops or fails over. The cluster itself is shared by every test running in
/// parallel, so it is never stopped; each app that must lose its database gets a link.
pub struct DatabaseLink {
    /// Where the app connects (127.0.0.1 on a port of its own).
    address: SocketAddr,
    /// The cluster, `host:port`.
    target: String,
    forwarding: Mutex<Option<JoinHandle<()>>>,
}

impl DatabaseLink {
    async fn start(target: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the database link");
        let link = Self {
            address: listener.local_addr().expect("address"),
            target,
            forwarding: Mutex::new(None),
        };
        link.forward(listener);
        link
    }

    /// Forwards every connection `listener` accepts to the cluster. The connections
    /// belong to the forwarding task, so ending it closes them all.
    fn forward(&self, listener: tokio::net::TcpListener) {
        let target = self.target.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { return };
                        let target = target.clone();
                        connections.spawn(async move {
                            if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            }
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        *self.forwarding.lock().expect("link") = Some(task);
    }

    /// Cuts the link: the port stops listening (connections refused) and every open
    /// connection is dropped.
    pub async fn cut(&self) {
        let task = self.forwarding.lock().expect("link").take();
        if let Some(task) = task {
            task.abort();
            // Once the task has ended, its listener and connections are closed.
            let _ = task.await;
        }
    }

    /// Listens again on the same port.
    pub async fn restore(&self) {
        self.cut().await;
        for _ in 0..50 {
            if let Ok(listener) = tokio::net::TcpListener::bind(self.address).await {
                self.forward(listener);
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!(
            "the database link could not listen on {} again",
            self.address
        );
    }
}

impl TestApp {
    /// As [`TestApp::spawn`], with the app reaching its database through a
    /// [`DatabaseLink`] the test can cut, and, when given, the authorizer's cache period
    /// replaced. The test's own [`TestApp::db`] goes through the link too; arrange rows
    /// while it is cut with [`TestApp::direct_db`].
    pub async fn spawn_with_database_link(
        authorizer_ttl: Option<std::time::Duration>,
    ) -> (Self, DatabaseLink) {
        shared::telemetry::init_tracing();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let database = format!("t_{}", &id[..16]);
        create_test_database(&database).await;
        let admin: tokio_postgres::Config = admin_url().parse().expect("admin url");
        let host = match admin.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            other => panic!("the test cluster is not reached over TCP: {other:?}"),
        };
        let port = admin.get_ports().first().copied().unwrap_or(5432);
        let cluster = format!("{host}:{port}");
        let link = DatabaseLink::start(cluster.clone()).await;
        let direct_url = url_for_database(&admin_url(), &database);
        let linked_url = direct_url.replacen(&cluster, &link.address.to_string(), 1);
        assert_ne!(linked_url, direct_url, "the database URL names {cluster}");
        let prefix = format!("t-{}", &id[..16]);
        let state = AppState::from_config(test_config(&linked_url, &prefix, &[])).await;
        provision::ensure_aws_resources(&state)
            .await
            .expect("create the test's AWS resources in the emulator");
        let mut gateway = Gateway::from_template(&repo_root().join("template.yaml"), state)
            .expect("gateway from template.yaml");
        if let Some(ttl) = authorizer_ttl {
            gateway = gateway.with_authorizer_ttl(ttl);
        }
        (Self::serve_gateway(gateway, database).await, link)
    }

    /// A connection to this test's database that bypasses the app's pool (and any
    /// [`DatabaseLink`]).
    pub async fn direct_db(&self) -> tokio_postgres::Client {
        connect(&self.database_url()).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        let violations = std::mem::take(&mut *self.violations.lock().expect("violations"));
        let database = std::mem::take(&mut self.database);
        if !database.is_empty() && database.starts_with("t_") {
            // Drop runs inside the test's runtime, which cannot block on itself.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async move {
                    let admin = connect(&admin_url()).await;
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                        .await;
                });
            });
            let _ = dropped.join();
        }
        if !violations.is_empty() && !std::thread::panicking() {
            panic!(
                "responses do not match infra/openapi.yaml:\n  {}",
                violations.join("\n  ")
            );
        }
    }
}

/// A valid catering-request body: inline San Jose addresses, pickup tomorrow.
pub fn catering_body(headcount: i64) -> Value {
    let pickup = chrono::Utc::now() + chrono::Duration::days(1);
    serde_json::json!({
        "pickupAddress": { "name": "Taqueria Vic", "street1": "100 S 1st St", "city": "San Jose", "state": "CA", "zip": "95113" },
        "deliveryAddress": { "name": "Acme", "street1": "2 N Market St", "city": "Santa Clara", "state": "CA", "zip": "95050" },
        "pickupDateTime": pickup,
        "arrivalDateTime": pickup + chrono::Duration::minutes(45),
        "headcount": headcount,
        "needHost": "NO",
        "orderTotal": 350.25,
        "tip": 15,
        "clientAttention": "Front desk",
    })
}

/// The fields a validation error names, in order (`error.details[].field`).
/// A wall-clock time in San Jose as an instant, worked out here with the time-zone
/// database rather than through `shared::pacific`, so tests check the code, not echo it.
pub fn san_jose(local: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono_tz::America::Los_Angeles
        .from_local_datetime(&local)
        .single()
        .expect("a wall-clock time that happens once")
        .with_timezone(&chrono::Utc)
}

pub fn error_fields(body: &Value) -> Vec<String> {
    body["error"]["details"]
        .as_array()
        .map(|details| {
            details
                .iter()
                .filter_map(|d| d["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads a response as JSON, failing the test with the body when it is not JSON.
pub async fn json_body(response: reqwest::Response) -> serde_json::Value {
    let status = response.status();
    let text = response.text().await.expect("body");
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {text}"))
}

/// A webhook receiver on 127.0.0.1: records every request, answers with scripted statuses
/// (200 once the script is used up), can hang mid-request, and can go down and come back
/// on the same port.
pub struct Receiver {
    pub url: String,
    address: SocketAddr,
    shared: Arc<ReceiverState>,
    server: std::sync::Mutex<Option<JoinHandle<()>>>,
}

#[derive(Default)]
struct ReceiverState {
    received: std::sync::Mutex<Vec<Received>>,
    script: std::sync::Mutex<std::collections::VecDeque<u16>>,
    hang: std::sync::atomic::AtomicBool,
    /// The body of every answer (`{}` unless set).
    body: std::sync::Mutex<Option<Value>>,
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    /// Path and query.
    pub uri: String,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let address = listener.local_addr().expect("address");
        let receiver = Self {
            url: format!("http://{address}/hooks/readyset"),
            address,
            shared: Arc::new(ReceiverState::default()),
            server: std::sync::Mutex::new(None),
        };
        receiver.serve(listener);
        receiver
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let shared = Arc::clone(&self.shared);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let shared = Arc::clone(&shared);
                            async move {
                                use http_body_util::BodyExt;
                                let (parts, body) = req.into_parts();
                                let body = body
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes().to_vec())
                                    .unwrap_or_default();
                                shared.received.lock().expect("lock").push(Received {
                                    uri: parts.uri.to_string(),
                                    headers: parts.headers,
                                    body,
                                });
                                if shared.hang.load(std::sync::atomic::Ordering::SeqCst) {
                                    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                                }
                                let status = shared
                                    .script
                                    .lock()
                                    .expect("lock")
                                    .pop_front()
                                    .unwrap_or(200);
                                let body = shared
                                    .body
                                    .lock()
                                    .expect("lock")
                                    .clone()
                                    .unwrap_or_else(|| serde_json::json!({}));
                                let mut response = hyper::Response::new(http_body_util::Full::new(
                                    hyper::body::Bytes::from(body.to_string()),
                                ));
                                *response.status_mut() =
                                    http::StatusCode::from_u16(status).expect("status");
                                Ok::<_, std::convert::Infallible>(response)
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        *self.server.lock().expect("lock") = Some(task);
    }

    /// The next answers, in order.
    pub fn answer_with(&self, statuses: &[u16]) {
        self.shared.script.lock().expect("lock").extend(statuses);
    }

    /// The JSON body of every answer from now on.
    pub fn answer_body(&self, body: Value) {
        *self.shared.body.lock().expect("lock") = Some(body);
    }

    /// Record requests but never answer them (a delivery stuck mid-flight).
    pub fn hang(&self, hang: bool) {
        self.shared
            .hang
            .store(hang, std::sync::atomic::Ordering::SeqCst);
    }

    /// Stops listening: connections are refused.
    pub fn go_down(&self) {
        if let Some(task) = self.server.lock().expect("lock").take() {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn come_back(&self) {
        self.go_down();
        for _ in 0..50 {
            if let Ok(listener) = tokio::net::TcpListener::bind(self.address).await {
                self.serve(listener);
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("receiver could not listen on {} again", self.address);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("lock").clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.go_down();
    }
}

/// An API partner for [`TestApp::partner`]: slug, order prefix and key, and optionally
/// where its webhooks and CaterValley status calls go.
pub struct PartnerSpec<'a> {
    pub slug: &'a str,
    pub prefix: &'a str,
    pub key: &'a str,
    /// Webhook URL and the secret it is signed with.
    pub webhook: Option<(&'a str, &'a str)>,
    /// Status-call URL and the key Ready Set presents to it.
    pub status_call: Option<(&'a str, &'a str)>,
}

impl<'a> PartnerSpec<'a> {
    pub fn new(slug: &'a str, prefix: &'a str, key: &'a str) -> Self {
        Self {
            slug,
            prefix,
            key,
            webhook: None,
            status_call: None,
        }
    }

    pub fn webhook(mut self, url: &'a str, secret: &'a str) -> Self {
        self.webhook = Some((url, secret));
        self
    }

    pub fn status_call(mut self, url: &'a str, key: &'a str) -> Self {
        self.status_call = Some((url, key));
        self
    }
}

impl TestApp {
    /// A single `bigint` (usually `SELECT count(*) …`) from this test's database.
    pub async fn count(&self, sql: &str) -> i64 {
        self.db()
            .await
            .query_typed_one(sql, &[])
            .await
            .expect("count")
            .get(0)
    }

    /// Stores a secret in the emulator's Secrets Manager under a fresh partner name.
    pub async fn secret(&self, value: &str) -> String {
        let id = format!("readyset/partners/{}", uuid::Uuid::new_v4().simple());
        self.state
            .secrets
            .create_secret()
            .name(&id)
            .secret_string(value)
            .send()
            .await
            .expect("secret");
        id
    }

    /// Registers an API partner owned by a fresh account, its secrets in the emulator.
    pub async fn partner(&self, spec: PartnerSpec<'_>) -> uuid::Uuid {
        let webhook_secret = match spec.webhook {
            Some((_, secret)) => Some(self.secret(secret).await),
            None => None,
        };
        let status_key = match spec.status_call {
            Some((_, key)) => Some(self.secret(key).await),
            None => None,
        };
        let email = format!(
            "{}-{}@partners.example.com",
            spec.slug,
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let db = self.db().await;
        let user: uuid::Uuid = db
            .query_typed_one(
                "INSERT INTO users (email, role, status, name) VALUES ($1, 'CLIENT', 'ACTIVE', $2) RETURNING id",
                &[p(&email), p(&spec.slug)],
            )
            .await
            .expect("partner account")
            .get(0);
        let webhook_url = spec.webhook.map(|(url, _)| url);
        let status_url = spec.status_call.map(|(url, _)| url);
        db.query_typed_one(
            "INSERT INTO api_partners (slug, name, api_key_hash, order_prefix, pricing_config_slug, user_id,
                 webhook_url, webhook_secret_ref, status_call_url, status_call_key_ref)
             VALUES ($1, $1, $2, $3, 'catervalley', $4, $5, $6, $7, $8) RETURNING id",
            &[
                p(&spec.slug),
                p(&shared::identity::hash_key(spec.key)),
                p(&spec.prefix),
                p(&user),
                p(&webhook_url),
                p(&webhook_secret),
                p(&status_url),
                p(&status_key),
            ],
        )
        .await
        .expect("partner")
        .get(0)
    }
}

/// An upload made through the routes: signed, put through its presigned URL, completed.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub id: String,
    pub path: String,
}

/// The bytes [`upload_request`] declares.
pub const UPLOAD_BYTES: &[u8] = b"jpeg-bytes!";

/// A signed-url body for [`UPLOAD_BYTES`] as a JPEG of `category` attached to
/// `entity_type` `entity_id`.
pub fn upload_request(category: &str, entity_type: &str, entity_id: &str) -> Value {
    serde_json::json!({
        "fileName": "photo.jpg",
        "fileType": "image/jpeg",
        "fileSize": UPLOAD_BYTES.len(),
        "category": category,
        "entityType": entity_type,
        "entityId": entity_id,
    })
}

/// PUTs `bytes` to a signed upload's URL with its signed headers (`content_type` in place
/// of the signed one when given).
pub async fn put_signed(
    signed: &Value,
    bytes: &'static [u8],
    content_type: Option<&str>,
) -> reqwest::Response {
    let mut put = reqwest::Client::new()
        .put(signed["signedUrl"].as_str().expect("signed url"))
        .timeout(std::time::Duration::from_secs(10));
    for (name, value) in signed["headers"].as_object().expect("headers") {
        let value = match (name.as_str(), content_type) {
            ("content-type", Some(replaced)) => replaced,
            _ => value.as_str().expect("header"),
        };
        put = put.header(name, value);
    }
    put.body(bytes).send().await.expect("put")
}

impl TestApp {
    /// A catering order `owner` placed: (id, number).
    pub async fn order_of(&self, owner: &TestUser) -> (String, String) {
        let response = self
            .call(
                "POST",
                "/api/catering-requests",
                Some(&owner.token),
                Some(catering_body(20)),
            )
            .await;
        assert_eq!(response.status(), 201, "placing an order");
        let order = json_body(response).await;
        (
            order["order"]["id"].as_str().expect("order id").to_owned(),
            order["order"]["orderNumber"]
                .as_str()
                .expect("order number")
                .to_owned(),
        )
    }

    /// Makes `driver` (given a driver record if it has none) the order's assigned driver.
    pub async fn dispatch(&self, driver: &TestUser, order_id: &str) {
        let db = self.db().await;
        let driver_id: uuid::Uuid = db
            .query_typed_one(
                "INSERT INTO drivers (user_id) VALUES ($1)
                 ON CONFLICT (user_id) DO UPDATE SET is_active = true RETURNING id",
                &[shared::db::p(&driver.id)],
            )
            .await
            .expect("driver")
            .get(0);
        let order_id: uuid::Uuid = order_id.parse().expect("order uuid");
        db.execute_typed(
            "INSERT INTO dispatches (order_id, driver_id) VALUES ($1, $2)",
            &[shared::db::p(&order_id), shared::db::p(&driver_id)],
        )
        .await
        .expect("dispatch");
    }

    /// Starts `driver`'s shift at `(lat, lng)`: on duty there, so dispatch finds it.
    pub async fn start_shift_at(&self, driver: &TestUser, (lat, lng): (f64, f64)) {
        let started = self
            .call(
                "POST",
                "/api/tracking/shifts/start",
                Some(&driver.token),
                Some(serde_json::json!({ "location": { "coordinates": { "lat": lat, "lng": lng } } })),
            )
            .await;
        assert_eq!(started.status(), 200, "shift started");
    }

    /// The driver record of a DRIVER account, as text (as routes take it).
    pub async fn driver_id(&self, driver: &TestUser) -> String {
        shared::drivers::driver_id_of(&*self.db().await, driver.id)
            .await
            .expect("lookup")
            .expect("a driver record")
            .to_string()
    }

    /// Rows of any table holding `value` in any text or JSON column.
    pub async fn rows_holding(&self, value: &str) -> Vec<String> {
        let db = self.db().await;
        let columns = db
            .query_typed(
                "SELECT c.relname::text, a.attname::text FROM pg_attribute a
               JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_type t ON t.oid = a.atttypid
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                AND a.attnum > 0 AND NOT a.attisdropped
                AND t.typname IN ('text', 'varchar', 'json', 'jsonb', 'bpchar')",
                &[],
            )
            .await
            .expect("columns");
        let mut found = Vec::new();
        for column in columns {
            let (table, name): (String, String) = (column.get(0), column.get(1));
            let sql =
                format!("SELECT count(*) FROM \"{table}\" WHERE strpos(\"{name}\"::text, $1) > 0");
            let count: i64 = db
                .query_typed_one(&sql, &[shared::db::p(&value)])
                .await
                .expect("search")
                .get(0);
            if count > 0 {
                found.push(format!("{table}.{name} ({count})"));
            }
        }
        found
    }

    /// The variables a deployment's tools (`scripts/backup`, `scripts/restore`, `psql`)
    /// read to reach this app: its database and its AWS resources (the emulators' own
    /// variables come from the test command's environment).
    pub fn deployment_env(&self) -> Vec<(String, String)> {
        let config = &self.state.config;
        let mut vars = vec![
            ("READYSET_API".into(), self.url("")),
            (
                "DATABASE_URL".into(),
                url_for_database(&admin_url(), &self.database),
            ),
            ("APP_ENV".into(), "local".into()),
            ("APP_TABLE".into(), config.resources.app_table.clone()),
            (
                "UPLOADS_BUCKET".into(),
                config.resources.uploads_bucket.clone(),
            ),
            (
                "BACKUPS_BUCKET".into(),
                config.resources.backups_bucket.clone(),
            ),
            ("JWT_SECRET_ID".into(), config.auth.jwt_secret_id.clone()),
        ];
        if let Some(shared::config::BackupKeySource::Kms(key)) = &config.backups.key {
            vars.push(("BACKUP_KMS_KEY_ID".into(), key.clone()));
        }
        vars
    }

    /// `staff` assigns `driver` to the order through the API; panics unless 200.
    pub async fn assign_driver(&self, staff: &TestUser, order_id: &str, driver: &TestUser) {
        let driver_id = self.driver_id(driver).await;
        let assigned = self
            .call(
                "POST",
                "/api/orders/assignDriver",
                Some(&staff.token),
                Some(serde_json::json!({ "orderId": order_id, "driverId": driver_id })),
            )
            .await;
        assert_eq!(assigned.status(), 200, "assigning the driver");
    }

    /// `driver` reports the order at `status` (`PATCH /api/orders/{number}`).
    pub async fn report_status(
        &self,
        driver: &TestUser,
        number: &str,
        status: &str,
    ) -> reqwest::Response {
        self.call(
            "PATCH",
            &format!("/api/orders/{number}"),
            Some(&driver.token),
            Some(serde_json::json!({ "driverStatus": status })),
        )
        .await
    }

    /// `driver` reports a failed attempt at the order (`NO_ONE_THERE`, with a photo it
    /// uploads for it).
    pub async fn report_failed_attempt(
        &self,
        driver: &TestUser,
        order_id: &str,
        number: &str,
    ) -> reqwest::Response {
        let photo = self.active_upload(driver, "POD", "order", order_id).await;
        self.call(
            "POST",
            &format!("/api/orders/{number}/failed-attempt"),
            Some(&driver.token),
            Some(serde_json::json!({ "reason": "NO_ONE_THERE", "photoUploadId": photo.id })),
        )
        .await
    }

    /// Delivers every due outbox message once.
    pub async fn relay_all(&self) -> shared::outbox::relay::RelayReport {
        shared::outbox::relay::run(
            &self.state,
            100,
            std::time::Instant::now() + std::time::Duration::from_secs(10),
        )
        .await
        .expect("relay")
    }

    /// Runs the event function `name` (`outbox-retention`) on `event`, as Lambda would.
    pub async fn run_job(
        &self,
        name: &str,
        event: Value,
    ) -> Result<Value, shared::error::BoxError> {
        let function = functions::find(name).unwrap_or_else(|| panic!("no function {name}"));
        let shared::runtime::Lambda::Event(job) = function.lambda else {
            panic!("{name} is not an event function");
        };
        shared::runtime::handle_event(
            &self.state,
            name,
            "test",
            job.handler,
            event,
            shared::runtime::JobLog::Every,
        )
        .await
    }

    /// What the emulator keeps of `service` (`ses`, `sns`): its models, by kind.
    async fn emulated(&self, service: &str) -> Value {
        let endpoint = self
            .state
            .config
            .aws
            .endpoint_url
            .clone()
            .expect("the emulator");
        let data: Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
            .await
            .expect("emulator data")
            .json()
            .await
            .expect("json");
        data[service].clone()
    }

    /// Emails the emulator's SES accepted for `to`, as (subject, text), oldest first.
    pub async fn emails_to(&self, to: &str) -> Vec<(String, String)> {
        self.emulated("ses").await["Message"]
            .as_array()
            .map(|messages| {
                messages
                    .iter()
                    .filter(|m| {
                        m["destinations"]["ToAddresses"]
                            .as_array()
                            .is_some_and(|a| a.iter().any(|d| d == to))
                    })
                    .map(|m| {
                        (
                            m["subject"].as_str().unwrap_or("").to_owned(),
                            m["body"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Texts the emulator's SNS accepted for `phone` (E.164), oldest first.
    pub async fn texts_to(&self, phone: &str) -> Vec<String> {
        self.emulated("sns").await["SMS"]
            .as_array()
            .map(|texts| {
                texts
                    .iter()
                    .filter(|t| t["phone_number"] == phone)
                    .map(|t| t["message"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Gives `user` a phone number of its own, written as people write it (`(415)
    /// 555-0123`), ending in `ending` (two digits; the emulator's SNS treats numbers
    /// ending in 99 as opted out); answers it in E.164 form.
    pub async fn give_phone(&self, user: &TestUser, ending: &str) -> String {
        let middle = uuid::Uuid::new_v4().as_u128() % 100_000;
        let digits = format!("{:05}{ending}", middle);
        self.db()
            .await
            .execute_typed(
                "UPDATE users SET phone = $2 WHERE id = $1",
                &[
                    p(&user.id),
                    p(&format!("(415) {}-{}", &digits[..3], &digits[3..])),
                ],
            )
            .await
            .expect("phone");
        format!("+1415{digits}")
    }

    /// Whether the uploads bucket holds `key`.
    pub async fn object_exists(&self, key: &str) -> bool {
        self.state
            .s3
            .head_object()
            .bucket(&self.state.config.resources.uploads_bucket)
            .key(key)
            .send()
            .await
            .is_ok()
    }

    /// Signs an upload for `user`; panics unless the answer is 200.
    pub async fn sign_upload(&self, user: &TestUser, body: Value) -> Value {
        let response = self
            .call(
                "POST",
                "/api/file-uploads/signed-url",
                Some(&user.token),
                Some(body),
            )
            .await;
        assert_eq!(response.status(), 200, "signing an upload");
        json_body(response).await
    }

    pub async fn complete_upload(&self, user: &TestUser, upload_id: &str) -> reqwest::Response {
        self.call(
            "POST",
            &format!("/api/file-uploads/{upload_id}/complete"),
            Some(&user.token),
            None,
        )
        .await
    }

    /// `user` uploads [`UPLOAD_BYTES`] as a JPEG of `category` attached to `entity_type`
    /// `entity_id` and completes it; panics unless every step succeeds.
    pub async fn active_upload(
        &self,
        user: &TestUser,
        category: &str,
        entity_type: &str,
        entity_id: &str,
    ) -> Uploaded {
        let signed = self
            .sign_upload(user, upload_request(category, entity_type, entity_id))
            .await;
        let put = put_signed(&signed, UPLOAD_BYTES, None).await;
        assert!(put.status().is_success(), "put: {}", put.status());
        let id = signed["uploadId"].as_str().expect("upload id").to_owned();
        let completed = self.complete_upload(user, &id).await;
        assert_eq!(completed.status(), 200, "completing an upload");
        Uploaded {
            id,
            path: signed["path"].as_str().expect("path").to_owned(),
        }
    }
}
