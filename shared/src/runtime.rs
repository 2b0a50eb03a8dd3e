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
    error::{ApiError, ApiResult, BoxError},
    http::{error_response, finish_response, request_id, route_key},
    input::MAX_BODY_BYTES,
    state::AppState,
    telemetry,
};

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = ApiResult<Response<Body>>> + Send + 'a>>;
/// An HTTP function: `fn handler(state, request) -> response future`.
pub type HttpHandler = for<'a> fn(&'a AppState, Request) -> HandlerFuture<'a>;

pub type EventFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, BoxError>> + Send + 'a>>;
/// An ops job (schedule, SNS, direct invoke): `fn handler(state, event) -> result future`.
pub type EventHandler = for<'a> fn(&'a AppState, Value) -> EventFuture<'a>;

/// Serves one request: refuses oversized bodies, runs the handler (a panic becomes a 500),
/// renders errors, adds the common headers and writes the access log line.
pub async fn handle_http(state: &AppState, handler: HttpHandler, req: Request) -> Response<Body> {
    let started = Instant::now();
    let request_id = request_id(&req);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = route_key(&req);

    let result = if crate::input::body_bytes(&req, MAX_BODY_BYTES).is_err() {
        Err(ApiError::payload_too_large(MAX_BODY_BYTES))
    } else {
        AssertUnwindSafe(handler(state, req))
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
            error_response(&err, &request_id)
        }
    };
    let response = finish_response(response, &request_id);
    tracing::info!(
        request_id = %request_id,
        method = %method,
        path = %path,
        route = route.as_deref().unwrap_or(""),
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
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
        Err(err) => tracing::error!(latency_ms, error = %err, "job failed"),
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
pub fn run_http(handler: HttpHandler) -> Result<(), BoxError> {
    tokio_runtime()?.block_on(async move {
        let state = cold_start().await?;
        lambda_http::run(lambda_http::service_fn(move |req: Request| async move {
            Ok::<_, BoxError>(handle_http(state, handler, req).await)
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
