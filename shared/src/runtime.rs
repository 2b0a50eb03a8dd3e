//! Running handlers: in Lambda ([`run`]) and in-process ([`handle_http`], [`handle_event`],
//! used by the local gateway and tests).
//!
//! Handlers are plain function pointers over boxed futures, so the Lambda binary links the
//! generic runtime code compiled once here instead of instantiating lambda_http, hyper and
//! tower again for each handler type.
//!
//! Every request and job runs inside a span carrying its request id, route (or job name)
//! and caller, so every log line written while serving it names them.

use std::{
    future::Future,
    panic::AssertUnwindSafe,
    pin::Pin,
    sync::atomic::{AtomicBool, Ordering},
    time::Instant,
};

use futures_util::FutureExt;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use tracing::{field, Instrument, Level};

use crate::{
    auth::Permission,
    cors,
    error::{ApiError, ApiResult, BoxError},
    http::{finish_response, request_id, route_key, styled_error_response, ErrorStyle},
    idempotency,
    identity::RequestIdentity,
    input::MAX_BODY_BYTES,
    metrics::RequestMetrics,
    monitoring::{self, ErrorReport},
    outbox,
    ratelimit::{self, Drawn, RateClass},
    routes::Route,
    state::{AppState, Warm},
    telemetry,
};

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = ApiResult<Response<Body>>> + Send + 'a>>;
/// An HTTP handler: `fn handler(state, request) -> response future`.
pub type HttpHandler = for<'a> fn(&'a AppState, Request) -> HandlerFuture<'a>;

/// An HTTP function: its handler and how the runtime treats its requests. Each function
/// module declares one as `pub const FUNCTION`.
#[derive(Clone, Copy)]
pub struct HttpFunction {
    pub handler: HttpHandler,
    /// The rate-limit budget its requests draw from.
    pub rate_class: RateClass,
    /// POSTs honour `Idempotency-Key` (creates).
    pub idempotent: bool,
    pub error_style: ErrorStyle,
    pub warm: Warm,
    /// Its routes as declared: the permission each needs is checked before the handler
    /// runs. The registry sets them from the function's declaration.
    pub routes: &'static [Route],
}

impl HttpFunction {
    pub const fn new(handler: HttpHandler, rate_class: RateClass) -> Self {
        Self {
            handler,
            rate_class,
            routes: &[],
            idempotent: false,
            error_style: ErrorStyle::Standard,
            // Every request but an exempt one starts with a rate-limit write.
            warm: Warm {
                dynamodb: !matches!(rate_class, RateClass::Exempt),
                signing_key: false,
                postgis: false,
            },
        }
    }

    /// Reads the token signing key at cold start (it signs or verifies tokens).
    pub const fn warm_signing_key(mut self) -> Self {
        self.warm.signing_key = true;
        self
    }

    /// Loads PostGIS into the first database connection at cold start, or not (the
    /// registry decides by the function's area).
    pub const fn warming_postgis(mut self, postgis: bool) -> Self {
        self.warm.postgis = postgis;
        self
    }

    /// POSTs with an `Idempotency-Key` run once; retries replay the first response.
    pub const fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// Serves `routes` (the function's declared routes).
    pub const fn serving(mut self, routes: &'static [Route]) -> Self {
        self.routes = routes;
        self
    }

    /// The permission the route of `key` needs, if it declares one.
    pub fn required(&self, key: &str) -> Option<Permission> {
        self.routes
            .iter()
            .find(|route| route.is(key))
            .and_then(|route| route.requires)
    }

    /// Errors in the partner API's shape.
    pub const fn partner_errors(mut self) -> Self {
        self.error_style = ErrorStyle::Partner;
        self
    }
}

pub type EventFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, BoxError>> + Send + 'a>>;
/// An ops job (schedule, SNS, direct invoke): `fn handler(state, event) -> result future`.
pub type EventHandler = for<'a> fn(&'a AppState, Value) -> EventFuture<'a>;

/// A job's event as its own type: each job declares what it accepts (a `Deserialize`
/// struct, unknown fields ignored so EventBridge's envelope passes) and reads it first
/// thing; a malformed event is an error naming the field, before any work.
pub fn event_of<T: serde::de::DeserializeOwned>(event: Value) -> Result<T, BoxError> {
    serde_path_to_error::deserialize(event).map_err(|e| {
        let path = e.path().to_string();
        format!(
            "the event is not what this job accepts ({}): {}",
            if path == "." { "at its top" } else { &path },
            e.into_inner()
        )
        .into()
    })
}

/// An ops job or the authorizer, as its module declares it (`pub const FUNCTION`).
#[derive(Clone, Copy)]
pub struct EventFunction {
    pub handler: EventHandler,
    pub warm: Warm,
}

impl EventFunction {
    pub const fn new(handler: EventHandler) -> Self {
        Self {
            handler,
            warm: Warm {
                dynamodb: false,
                signing_key: false,
                postgis: false,
            },
        }
    }

    /// Opens the DynamoDB connection at cold start (its first event reads the table).
    pub const fn warm_dynamodb(mut self) -> Self {
        self.warm.dynamodb = true;
        self
    }

    /// Reads the token signing key at cold start.
    pub const fn warm_signing_key(mut self) -> Self {
        self.warm.signing_key = true;
        self
    }

    /// Loads PostGIS into the first database connection at cold start, or not (the
    /// registry decides by the function's area).
    pub const fn warming_postgis(mut self, postgis: bool) -> Self {
        self.warm.postgis = postgis;
        self
    }
}

/// A Lambda function, as a function module declares it (`pub const FUNCTION: Lambda`).
#[derive(Clone, Copy)]
pub enum Lambda {
    /// Behind an HttpApi route (API Gateway payload v2).
    Http(HttpFunction),
    /// An ops job or the authorizer: schedule, SNS notification or direct invoke.
    Event(EventFunction),
}

impl Lambda {
    pub const fn warm(&self) -> Warm {
        match self {
            Lambda::Http(function) => function.warm,
            Lambda::Event(function) => function.warm,
        }
    }
}

/// Serves one request inside its span: refuses oversized bodies, counts it against the
/// function's rate budget, runs the handler under the request deadline (a panic becomes a
/// 500), renders errors, adds the common headers (security, request id, rate limit, CORS)
/// and writes the access log line.
pub async fn handle_http(
    state: &AppState,
    function: &HttpFunction,
    req: Request,
) -> Response<Body> {
    let request_id = request_id(&req);
    let route = route_key(&req).unwrap_or_default();
    let identity = RequestIdentity::of(&req);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        route = %route,
        user_id = field::Empty,
        partner = field::Empty,
    );
    if let Some(user) = identity.user_id {
        span.record("user_id", field::display(user));
    }
    if let Some(partner) = &identity.partner {
        span.record("partner", partner.slug.as_str());
    }
    serve(state, function, req, identity, request_id, route)
        .instrument(span)
        .await
}

async fn serve(
    state: &AppState,
    function: &HttpFunction,
    mut req: Request,
    identity: RequestIdentity,
    request_id: String,
    route: String,
) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let request_headers = req.headers().clone();
    let drawn = Drawn::default();
    req.extensions_mut().insert(drawn.clone());
    req.extensions_mut().insert(identity.clone());

    // The steps that call AWS are boxed: the SDK's futures are tens of kilobytes, and
    // inline they would make this future as large and copied at every move.
    let (result, enqueued) = outbox::wake::tracking(Box::pin(guarded(
        state, function, req, &identity, &route, &drawn,
    )))
    .await;
    let response = match result {
        Ok(response) => response,
        Err(err) => {
            Box::pin(failure(
                state,
                function,
                &err,
                &route,
                &request_id,
                &identity,
            ))
            .await
        }
    };
    let mut response = finish_response(response, &request_id);
    if let Some(quota) = drawn.tightest().filter(|q| q.allowed) {
        let now = chrono::Utc::now().timestamp();
        for (name, value) in quota.headers(now) {
            response.headers_mut().insert(name, value);
        }
    }
    cors::apply(
        &state.config.auth.allowed_origins,
        &request_headers,
        &mut response,
    );
    // Answered without a server error: the transaction that enqueued has committed.
    if enqueued && !response.status().is_server_error() {
        Box::pin(outbox::wake::wake_relay(state)).await;
    }
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = response.status().as_u16();
    tracing::info!(method = %method, path = %path, status, latency_ms, "request");
    state.metrics.request(&RequestMetrics {
        route: &route,
        request_id: &request_id,
        status,
        latency_ms,
        cold_start: FIRST_REQUEST.swap(false, Ordering::Relaxed),
    });
    response
}

/// The request's work under its deadline: the body's size, the function's rate budget,
/// a provisional approval completed, the route's permission, then the handler (once per
/// idempotency key for creates).
async fn guarded(
    state: &AppState,
    function: &HttpFunction,
    req: Request,
    identity: &RequestIdentity,
    route: &str,
    drawn: &Drawn,
) -> ApiResult<Response<Body>> {
    let deadline = Deadline::after(state.config.request_timeout);
    if crate::input::body_bytes(&req, MAX_BODY_BYTES).is_err() {
        return Err(ApiError::payload_too_large(MAX_BODY_BYTES));
    }
    if let Some(key) = ratelimit::key_for(function.rate_class, identity, route) {
        deadline
            .run(ratelimit::charge(
                state,
                Some(drawn),
                function.rate_class,
                &key,
            ))
            .await?;
    }
    // An approval the authorizer gave on the token alone (a store was down) is completed
    // here on every route, whatever it requires, before anything reads the caller.
    let req = deadline
        .run(crate::provisional::complete(state, req))
        .await?;
    // Who may call comes before what they sent: a refused caller gets 403 whatever the
    // body holds.
    if let Some(permission) = function.required(route) {
        crate::auth::caller(&req)?.require(permission)?;
    }
    if function.idempotent && req.method() == http::Method::POST {
        run_idempotently(state, function, req, identity, deadline).await
    } else {
        deadline.run(run_handler(state, function, req)).await
    }
}

/// The answer to a failed request in the function's error style; a server error is
/// logged and recorded in the error store first (before answering: the runtime freezes
/// the container once it has).
async fn failure(
    state: &AppState,
    function: &HttpFunction,
    err: &ApiError,
    route: &str,
    request_id: &str,
    identity: &RequestIdentity,
) -> Response<Body> {
    if err.is_server_error() {
        log_failure(err);
        let report = ErrorReport::of_failure(err, route, request_id, identity.user_id);
        monitoring::record(state, report).await;
    }
    styled_error_response(err, request_id, function.error_style)
}

/// Whether this container has not served a request yet (its first one is a cold start).
static FIRST_REQUEST: AtomicBool = AtomicBool::new(true);

/// When a request must have answered: a request that outlives it means a dependency
/// hung, and Lambda would otherwise bill it until the function's timeout and answer
/// nothing.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: tokio::time::Instant,
    budget: std::time::Duration,
}

impl Deadline {
    fn after(budget: std::time::Duration) -> Self {
        Self {
            at: tokio::time::Instant::now() + budget,
            budget,
        }
    }

    /// Runs `work` until the deadline; past it, a 503 `dependency_timeout`.
    async fn run<T>(&self, work: impl Future<Output = ApiResult<T>>) -> ApiResult<T> {
        tokio::time::timeout_at(self.at, work)
            .await
            .unwrap_or_else(|_| {
                Err(
                    ApiError::service_unavailable("a dependency did not answer in time; retry")
                        .with_code("dependency_timeout")
                        .with_source(format!(
                            "the request took longer than {} ms",
                            self.budget.as_millis()
                        )),
                )
            })
    }
}

/// The log line of a 5xx: what failed, where, what the code was doing, and why.
fn log_failure(err: &ApiError) {
    let cause = std::error::Error::source(err).map(crate::error::chain);
    tracing::error!(
        code = %err.code,
        shown = %err.message,
        at = %err.location,
        doing = err.doing.unwrap_or(""),
        cause = cause.as_deref().unwrap_or(""),
        "request failed"
    );
}

/// Runs the handler; a panic becomes a 500 for this request only.
async fn run_handler(
    state: &AppState,
    function: &HttpFunction,
    req: Request,
) -> ApiResult<Response<Body>> {
    AssertUnwindSafe((function.handler)(state, req))
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "handler panicked".to_owned());
            Err(ApiError::internal(message).doing("running the handler"))
        })
}

/// Runs a create at most once per `Idempotency-Key` (see [`idempotency`]). Only the work
/// runs under the deadline, so a create that times out still gives its key back.
async fn run_idempotently(
    state: &AppState,
    function: &HttpFunction,
    req: Request,
    identity: &RequestIdentity,
    deadline: Deadline,
) -> ApiResult<Response<Body>> {
    let Some(key) = idempotency::key(&req)? else {
        return deadline.run(run_handler(state, function, req)).await;
    };
    let scope = identity.idempotency_scope();
    let fingerprint = idempotency::fingerprint(&req);
    let now = chrono::Utc::now().timestamp();
    if let idempotency::Claim::Replay(response) = deadline
        .run(idempotency::claim(state, &scope, &key, &fingerprint, now))
        .await?
    {
        return Ok(response);
    }
    let result = deadline.run(run_handler(state, function, req)).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(err) => err.status,
    };
    let saved = if idempotency::is_final(status) {
        let response = match &result {
            Ok(response) => response.clone(),
            Err(err) => styled_error_response(err, "", function.error_style),
        };
        idempotency::complete(state, &scope, &key, &response).await
    } else {
        idempotency::release(state, &scope, &key).await
    };
    if let Err(err) = saved {
        // The work is done and committed; only the replay record is missing. Orders carry
        // the key too, so a retry still finds the first order.
        tracing::error!(error = %crate::error::chain(&err), "could not save the idempotent response");
    }
    result
}

/// How loudly a finished job is logged: ops jobs once per run; the local gateway's
/// every-second relay only when something failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobLog {
    Every,
    FailuresOnly,
}

/// Runs one ops job invocation inside its span, with a log line for its outcome.
pub async fn handle_event(
    state: &AppState,
    job: &str,
    request_id: &str,
    handler: EventHandler,
    event: Value,
    log: JobLog,
) -> Result<Value, BoxError> {
    let span = tracing::info_span!("job", job, request_id);
    async move {
        let started = Instant::now();
        let result = AssertUnwindSafe(handler(state, event))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err("job panicked".into()));
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        match &result {
            Ok(_) if log == JobLog::Every => tracing::info!(latency_ms, "job finished"),
            Ok(_) => tracing::event!(Level::DEBUG, latency_ms, "job finished"),
            Err(err) => {
                // The whole chain: an ApiError's own text hides its cause from clients only.
                let cause = std::error::Error::source(&**err).map(crate::error::chain);
                let at = err
                    .downcast_ref::<ApiError>()
                    .map(|e| e.location.to_string())
                    .unwrap_or_default();
                tracing::error!(latency_ms, error = %err, at, cause = cause.as_deref().unwrap_or(""), "job failed");
                let report = ErrorReport::of_job_failure(&**err, job, request_id);
                monitoring::record(state, report).await;
            }
        }
        result
    }
    .instrument(span)
    .await
}

/// The cold start shared by both runtimes: logs, then the state with its connections
/// warmed as `lambda` declares. Leaked on purpose: it lives as long as the container, and
/// `'static` lets every request borrow it.
async fn cold_start(lambda: &Lambda) -> Result<&'static AppState, BoxError> {
    telemetry::init_tracing();
    let config = crate::config::Config::from_env().map_err(|err| {
        tracing::error!(error = %err, "configuration is invalid");
        err
    })?;
    let state = AppState::warmed(config, lambda.warm()).await;
    Ok(Box::leak(Box::new(state)))
}

/// Stack of each runtime thread: 8 MiB instead of tokio's 2. A debug build's request
/// futures (nothing inlined, every awaited future kept whole) can outgrow 2 MiB; the
/// space is only reserved, and committed as it is touched.
pub const THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;

fn tokio_runtime() -> Result<tokio::runtime::Runtime, BoxError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(THREAD_STACK_BYTES)
        .enable_all()
        .build()?)
}

/// The whole `main` of a Lambda function: `name` is the function's module, `lambda` its
/// declaration.
pub fn run(name: &'static str, lambda: &'static Lambda) -> Result<(), BoxError> {
    tokio_runtime()?.block_on(async move {
        let state = cold_start(lambda).await?;
        match lambda {
            Lambda::Http(function) => {
                lambda_http::run(lambda_http::service_fn(move |req: Request| async move {
                    Ok::<_, BoxError>(handle_http(state, function, req).await)
                }))
                .await
            }
            Lambda::Event(EventFunction { handler, .. }) => {
                lambda_runtime::run(lambda_runtime::service_fn(
                    move |event: lambda_runtime::LambdaEvent<Value>| async move {
                        let request_id = event.context.request_id.clone();
                        handle_event(
                            state,
                            name,
                            &request_id,
                            *handler,
                            event.payload,
                            JobLog::Every,
                        )
                        .await
                    },
                ))
                .await
            }
        }
    })
}
