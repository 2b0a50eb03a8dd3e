//! Running handlers: in Lambda ([`run_http`], [`run_event`]) and in-process
//! ([`handle_http`], [`handle_event`], used by the local gateway and tests).
//!
//! Handlers are plain function pointers over boxed futures, so each Lambda binary links the
//! generic runtime code compiled once here instead of instantiating lambda_http, hyper and
//! tower again for its own handler type.

use std::{future::Future, panic::AssertUnwindSafe, pin::Pin, time::Instant};

use futures_util::FutureExt;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

use crate::{
    auth, cors,
    error::{ApiError, ApiResult, BoxError},
    http::{finish_response, request_id, route_key, styled_error_response, ErrorStyle},
    idempotency,
    input::MAX_BODY_BYTES,
    ratelimit::{self, RateClass},
    state::AppState,
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
}

impl HttpFunction {
    pub const fn new(handler: HttpHandler, rate_class: RateClass) -> Self {
        Self {
            handler,
            rate_class,
            idempotent: false,
            error_style: ErrorStyle::Standard,
        }
    }

    /// POSTs with an `Idempotency-Key` run once; retries replay the first response.
    pub const fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
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

/// Serves one request: refuses oversized bodies, counts it against the function's rate
/// budget, runs the handler (a panic becomes a 500), renders errors, adds the common
/// headers (security, request id, rate limit, CORS) and writes the access log line.
pub async fn handle_http(
    state: &AppState,
    function: &HttpFunction,
    req: Request,
) -> Response<Body> {
    let started = Instant::now();
    let request_id = request_id(&req);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = route_key(&req);
    let user_id = auth::caller_id(&req);
    let request_headers = req.headers().clone();
    let now = chrono::Utc::now().timestamp();

    let quota = match rate_identity(
        &req,
        function.rate_class,
        user_id.as_deref(),
        route.as_deref(),
    ) {
        None => None,
        Some(identity) => {
            match ratelimit::check(state, function.rate_class, &identity, now).await {
                Ok(quota) => quota,
                Err(err) => {
                    // The limiter's store is down: serve the request rather than fail it;
                    // API Gateway throttling still bounds the load.
                    tracing::error!(request_id = %request_id, error = %crate::error::chain(&err), "rate limiter unavailable");
                    None
                }
            }
        }
    };

    let result = if crate::input::body_bytes(&req, MAX_BODY_BYTES).is_err() {
        Err(ApiError::payload_too_large(MAX_BODY_BYTES))
    } else if let Some(refused) = quota.filter(|q| !q.allowed) {
        Err(refused.error(now))
    } else if function.idempotent && req.method() == http::Method::POST {
        run_idempotently(state, function, req, user_id.as_deref(), now).await
    } else {
        run_handler(state, function, req).await
    };

    let response = match result {
        Ok(response) => response,
        Err(err) => {
            if err.is_server_error() {
                let cause = std::error::Error::source(&err).map(|c| c.to_string());
                tracing::error!(
                    request_id = %request_id,
                    code = %err.code,
                    message = %err.message,
                    cause = cause.as_deref().unwrap_or(""),
                    "request failed"
                );
            }
            styled_error_response(&err, &request_id, function.error_style)
        }
    };
    let mut response = finish_response(response, &request_id);
    if let Some(quota) = quota.filter(|q| q.allowed) {
        for (name, value) in quota.headers(now) {
            response.headers_mut().insert(name, value);
        }
    }
    cors::apply(
        &state.config.auth.allowed_origins,
        &request_headers,
        &mut response,
    );
    tracing::info!(
        request_id = %request_id,
        method = %method,
        path = %path,
        route = route.as_deref().unwrap_or(""),
        user_id = user_id.as_deref().unwrap_or(""),
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
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
            Err(ApiError::internal(message))
        })
}

/// Runs a create at most once per `Idempotency-Key` (see [`idempotency`]).
async fn run_idempotently(
    state: &AppState,
    function: &HttpFunction,
    req: Request,
    user_id: Option<&str>,
    now: i64,
) -> ApiResult<Response<Body>> {
    let Some(key) = idempotency::key(&req)? else {
        return run_handler(state, function, req).await;
    };
    let scope = idempotency_scope(&req, user_id);
    let fingerprint = idempotency::fingerprint(&req);
    if let idempotency::Claim::Replay(response) =
        idempotency::claim(state, &scope, &key, &fingerprint, now).await?
    {
        return Ok(response);
    }
    let result = run_handler(state, function, req).await;
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

/// Whose keys these are: the user, or the partner (by slug and key), or the client IP.
fn idempotency_scope(req: &Request, user_id: Option<&str>) -> String {
    if let Some(user) = user_id {
        return format!("user:{user}");
    }
    if let Some(slug) = crate::partners::claimed_slug(req) {
        let key = crate::http::header(req.headers(), "x-api-key").unwrap_or("");
        return format!("partner:{slug}:{}", &crate::partners::hash_key(key)[..16]);
    }
    format!("ip:{}", crate::http::source_ip(req).unwrap_or_default())
}

/// Whose budget a request draws from: the signed-in user, the partner on this route, or
/// the client IP.
fn rate_identity(
    req: &Request,
    class: RateClass,
    user_id: Option<&str>,
    route: Option<&str>,
) -> Option<String> {
    class.budget()?;
    if class == RateClass::Partner {
        if let Some(slug) = crate::partners::claimed_slug(req) {
            // Keyed by the presented key too: requests with a wrong key cannot spend the
            // real partner's budget.
            let key = crate::http::header(req.headers(), "x-api-key").unwrap_or("");
            let key_hash = crate::partners::hash_key(key);
            return Some(format!(
                "partner:{slug}:{}:{}",
                &key_hash[..16],
                route.unwrap_or("")
            ));
        }
    }
    match user_id {
        Some(user) if !class.per_ip() => Some(format!("user:{user}")),
        _ => Some(format!(
            "ip:{}",
            crate::http::source_ip(req).unwrap_or_else(|| "unknown".into())
        )),
    }
}

/// Runs one ops job invocation with a log line for its outcome.
pub async fn handle_event(
    state: &AppState,
    handler: EventHandler,
    event: Value,
) -> Result<Value, BoxError> {
    let started = Instant::now();
    let result = AssertUnwindSafe(handler(state, event))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err("job panicked".into()));
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match &result {
        Ok(_) => tracing::info!(latency_ms, "job finished"),
        Err(err) => {
            // The whole chain: an ApiError's own text hides its cause from clients only.
            let cause = std::error::Error::source(&**err).map(crate::error::chain);
            tracing::error!(latency_ms, error = %err, cause = cause.as_deref().unwrap_or(""), "job failed")
        }
    }
    result
}

/// The cold start shared by both runtimes: logs, then state. Leaked on purpose: it lives
/// as long as the container, and `'static` lets every request borrow it.
async fn cold_start() -> Result<&'static AppState, BoxError> {
    telemetry::init_tracing();
    let state = AppState::from_env().await.map_err(|err| {
        tracing::error!(error = %err, "configuration is invalid");
        err
    })?;
    state.db.warm_up().await;
    Ok(Box::leak(Box::new(state)))
}

fn tokio_runtime() -> Result<tokio::runtime::Runtime, BoxError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The whole `main` of an HTTP function.
pub fn run_http(function: &'static HttpFunction) -> Result<(), BoxError> {
    tokio_runtime()?.block_on(async move {
        let state = cold_start().await?;
        lambda_http::run(lambda_http::service_fn(move |req: Request| async move {
            Ok::<_, BoxError>(handle_http(state, function, req).await)
        }))
        .await
    })
}

/// The whole `main` of an ops job function.
pub fn run_event(handler: EventHandler) -> Result<(), BoxError> {
    tokio_runtime()?.block_on(async move {
        let state = cold_start().await?;
        lambda_runtime::run(lambda_runtime::service_fn(
            move |event: lambda_runtime::LambdaEvent<Value>| async move {
                handle_event(state, handler, event.payload).await
            },
        ))
        .await
    })
}
