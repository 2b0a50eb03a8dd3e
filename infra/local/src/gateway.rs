//! The local API gateway: an HTTP server on 127.0.0.1 that behaves like API Gateway (HTTP
//! API, payload v2) in front of the function handlers, called in-process.
//!
//! Each request is turned into the same API Gateway v2 event JSON Lambda receives and
//! decoded by lambda_http's own conversion, so handlers see exactly what they see in AWS.

use std::{
    collections::HashMap,
    convert::Infallible,
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use http_body_util::{BodyExt, Full, Limited};
use hyper::{body::Bytes, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use lambda_http::{http::StatusCode, Body};
use serde_json::{json, Value};
use shared::{
    cors,
    http::{error_response, finish_response},
    runtime::{
        handle_event, handle_http, EventFunction, EventHandler, HttpFunction, JobLog, Lambda,
    },
    ApiError, AppState,
};
use tokio::net::TcpListener;

use crate::{
    event::{api_gateway_event, self_address, ApiGatewayEventInput},
    router::{Match, RouteError, Router},
    template::{Template, TemplateError},
};

/// API Gateway refuses payloads over 10 MB before any function runs.
pub const GATEWAY_MAX_BODY: usize = 10 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error("the templates declare function {handler} ({logical_id}), which the functions registry lacks")]
    UnknownFunction { logical_id: String, handler: String },
    #[error("{handler} has routes but is registered as an event function")]
    NotHttp { handler: String },
    #[error("the authorizer function {0} is not an event function in the registry")]
    BadAuthorizer(String),
}

#[derive(Clone)]
struct Target {
    function: &'static HttpFunction,
    /// The authorizer guarding the route, unless it is public.
    authorizer: Option<Arc<Authorizer>>,
}

/// A Lambda authorizer as API Gateway runs it: every identity header must be present
/// (else 401 without calling it), answers are cached per identity for the TTL, a refusal
/// is 403 and a failure 500.
struct Authorizer {
    handler: EventHandler,
    identity_headers: Vec<String>,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Option<Value>)>>,
}

enum Authorization {
    Allowed(Value),
    MissingIdentity,
    Denied,
    Failed,
}

impl Authorizer {
    async fn authorize(&self, state: &AppState, event: &Value) -> Authorization {
        let mut identity = Vec::new();
        for header in &self.identity_headers {
            match event["headers"][header.as_str()].as_str() {
                Some(value) if !value.is_empty() => identity.push(value.to_owned()),
                _ => return Authorization::MissingIdentity,
            }
        }
        let cache_key = identity.join("\n");
        if let Some(cached) = self.cached(&cache_key) {
            return cached.map_or(Authorization::Denied, Authorization::Allowed);
        }
        let mut authorizer_event = event.clone();
        authorizer_event["type"] = json!("REQUEST");
        authorizer_event["identitySource"] = json!(identity);
        authorizer_event["routeArn"] = json!(format!(
            "arn:aws:execute-api:us-east-1:000000000000:local/$default/{}{}",
            event["requestContext"]["http"]["method"]
                .as_str()
                .unwrap_or(""),
            event["rawPath"].as_str().unwrap_or("")
        ));
        let request_id = event["requestContext"]["requestId"].as_str().unwrap_or("");
        let answer = match handle_event(
            state,
            "authorizer",
            request_id,
            self.handler,
            authorizer_event,
            JobLog::Every,
        )
        .await
        {
            Ok(answer) => answer,
            Err(_) => return Authorization::Failed,
        };
        let context = (answer["isAuthorized"] == json!(true))
            .then(|| answer.get("context").cloned().unwrap_or_else(|| json!({})));
        if !self.ttl.is_zero() {
            if let Ok(mut cache) = self.cache.lock() {
                cache.retain(|_, (at, _)| at.elapsed() < self.ttl);
                cache.insert(cache_key, (Instant::now(), context.clone()));
            }
        }
        context.map_or(Authorization::Denied, Authorization::Allowed)
    }

    fn cached(&self, key: &str) -> Option<Option<Value>> {
        let cache = self.cache.lock().ok()?;
        let (at, context) = cache.get(key)?;
        (at.elapsed() < self.ttl).then(|| context.clone())
    }
}

/// Sees every response a routed request got, with its route key (tests check them
/// against the API description).
pub type ResponseCheck = Arc<dyn Fn(&str, &lambda_http::Response<Body>) + Send + Sync>;

pub struct Gateway {
    state: AppState,
    router: Router<Target>,
    response_check: Option<ResponseCheck>,
}

impl Gateway {
    /// Builds the route table from the template; every function it names must exist.
    /// The functions' metrics go into the emulator's CloudWatch, as CloudWatch Logs would
    /// put them in AWS (unless `METRICS=off`).
    pub fn from_template(path: &Path, state: AppState) -> Result<Self, GatewayError> {
        let template = Template::load(path)?;
        let state = if state.config.metrics == shared::metrics::MetricsSink::Emf {
            crate::metrics::extract_into_cloudwatch(state)
        } else {
            state
        };
        let authorizer = match &template.authorizer {
            None => None,
            Some(spec) => {
                let name = template
                    .function(&spec.function_logical_id)
                    .map(|f| f.handler.clone())
                    .unwrap_or_else(|| spec.function_logical_id.clone());
                let Some(Lambda::Event(EventFunction { handler, .. })) =
                    functions::find(&name).map(|f| f.lambda)
                else {
                    return Err(GatewayError::BadAuthorizer(name));
                };
                Some(Arc::new(Authorizer {
                    handler: *handler,
                    identity_headers: spec.identity_headers.clone(),
                    ttl: Duration::from_secs(spec.ttl_seconds),
                    cache: Mutex::new(HashMap::new()),
                }))
            }
        };
        let mut router = Router::new();
        for function in &template.functions {
            let registered = functions::find(&function.handler).ok_or_else(|| {
                GatewayError::UnknownFunction {
                    logical_id: function.logical_id.clone(),
                    handler: function.handler.clone(),
                }
            })?;
            for route in &function.routes {
                let Lambda::Http(http_function) = registered.lambda else {
                    return Err(GatewayError::NotHttp {
                        handler: function.handler.clone(),
                    });
                };
                let target = Target {
                    function: http_function,
                    authorizer: if route.public {
                        None
                    } else {
                        authorizer.clone()
                    },
                };
                router.add(&route.method, &route.path, target)?;
            }
        }
        Ok(Self {
            state,
            router,
            response_check: None,
        })
    }

    /// Calls `check` with every response a handler gives.
    pub fn with_response_check(mut self, check: ResponseCheck) -> Self {
        self.response_check = Some(check);
        self
    }

    pub fn route_keys(&self) -> Vec<String> {
        self.router.route_keys()
    }

    /// Replaces the authorizer cache period of the template (tests use a short one).
    pub fn with_authorizer_ttl(mut self, ttl: Duration) -> Self {
        let mut replaced: Option<Arc<Authorizer>> = None;
        self.router.for_each_target(|target| {
            if let Some(current) = &target.authorizer {
                let fresh = replaced.get_or_insert_with(|| {
                    Arc::new(Authorizer {
                        handler: current.handler,
                        identity_headers: current.identity_headers.clone(),
                        ttl,
                        cache: Mutex::new(HashMap::new()),
                    })
                });
                target.authorizer = Some(Arc::clone(fresh));
            }
        });
        self
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Accepts connections until the task is dropped or aborted.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> std::io::Result<()> {
        loop {
            let (stream, remote) = listener.accept().await?;
            let gateway = Arc::clone(&self);
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let gateway = Arc::clone(&gateway);
                    async move { Ok::<_, Infallible>(gateway.handle(req, remote).await) }
                });
                let served = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                if let Err(err) = served {
                    tracing::debug!(error = %err, "connection closed with an error");
                }
            });
        }
    }

    async fn handle(
        &self,
        req: hyper::Request<Incoming>,
        remote: SocketAddr,
    ) -> hyper::Response<Full<Bytes>> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, GATEWAY_MAX_BODY).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                return gateway_error(ApiError::payload_too_large(GATEWAY_MAX_BODY), &request_id)
            }
        };
        // Lambda's Invoke API, which the functions call to wake the outbox relay.
        if let Some(name) = crate::lambda_invoke::invoked_function(&parts.method, parts.uri.path())
        {
            return crate::lambda_invoke::invoke(&self.state, &name, &parts.headers, body).await;
        }
        // With a CORS configuration, API Gateway answers preflights before any route.
        if cors::is_preflight(&parts.method, &parts.headers) {
            return to_hyper(cors::preflight(
                &self.state.config.auth.allowed_origins,
                &parts.headers,
            ));
        }
        let method = parts.method.as_str().to_owned();
        let path = parts.uri.path().to_owned();
        let (target, route_key, params) = match self.router.find(&method, &path) {
            Match::Found { route, params } => (route.target.clone(), route.key.clone(), params),
            miss => return gateway_error(route_miss(miss, &method, &path), &request_id),
        };

        let local = self_address(&parts.headers);
        let mut event = api_gateway_event(ApiGatewayEventInput {
            parts: &parts,
            body: &body,
            route_key: &route_key,
            path_params: &params,
            request_id: &request_id,
            source_ip: remote.ip().to_string(),
            host: local,
        });
        if let Some(authorizer) = &target.authorizer {
            match authorizer.authorize(&self.state, &event).await {
                Authorization::Allowed(context) => {
                    event["requestContext"]["authorizer"] = json!({ "lambda": context });
                }
                refused => {
                    // The refusals the API description documents (401, 403) are checked
                    // like a function's answers; an authorizer failure (500) is not.
                    let documented = !matches!(refused, Authorization::Failed);
                    let response = authorizer_refusal(refused);
                    if let (Some(check), true) = (&self.response_check, documented) {
                        check(&route_key, &response);
                    }
                    return to_hyper(response);
                }
            }
        }
        let request = match lambda_http::request::from_str(&event.to_string()) {
            Ok(request) => request,
            Err(err) => {
                let err = ApiError::bad_request("invalid_request", "the request could not be read")
                    .with_source(err);
                return gateway_error(err, &request_id);
            }
        };
        let response = handle_http(&self.state, target.function, request).await;
        if let Some(check) = &self.response_check {
            check(&route_key, &response);
        }
        to_hyper(response)
    }
}

/// Why no route answers a request: no path (404), not this method (405 with `Allow`),
/// or a path that is not UTF-8 (400).
fn route_miss<T>(miss: Match<'_, T>, method: &str, path: &str) -> ApiError {
    match miss {
        Match::MethodNotAllowed { allow } => {
            let allow_header = allow.join(", ");
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{path} does not accept {method}; allowed: {allow_header}"),
            )
            .with_header(
                lambda_http::http::header::ALLOW,
                lambda_http::http::HeaderValue::from_str(&allow_header)
                    .unwrap_or(lambda_http::http::HeaderValue::from_static("GET")),
            )
        }
        Match::BadPath => ApiError::bad_request("invalid_path", "the path is not valid UTF-8"),
        Match::Found { .. } | Match::NotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            format!("no route for {method} {path}"),
        ),
    }
}

/// API Gateway's own answer when the authorizer refuses or fails.
fn authorizer_refusal(refused: Authorization) -> lambda_http::Response<Body> {
    match refused {
        Authorization::MissingIdentity => gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized"),
        Authorization::Denied => gateway_message(StatusCode::FORBIDDEN, "Forbidden"),
        Authorization::Failed | Authorization::Allowed(_) => {
            gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}

/// A response API Gateway itself produces (authorizer outcomes): `{"message": ...}`, the
/// `GatewayMessage` of `infra/openapi.yaml`.
fn gateway_message(status: StatusCode, message: &str) -> lambda_http::Response<Body> {
    let mut response =
        lambda_http::Response::new(Body::Text(json!({ "message": message }).to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}

fn gateway_error(err: ApiError, request_id: &str) -> hyper::Response<Full<Bytes>> {
    to_hyper(finish_response(
        error_response(&err, request_id),
        request_id,
    ))
}

fn to_hyper(response: lambda_http::Response<Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_decode_like_lambda_does() {
        let req = hyper::Request::builder()
            .method("POST")
            .uri("/api/orders/CV%2012?limit=5&status=ACTIVE")
            .header("content-type", "application/json")
            .header("cookie", "a=1; b=2")
            .header("x-multi", "one")
            .header("x-multi", "two")
            .body(())
            .expect("request");
        let (parts, ()) = req.into_parts();
        let event = api_gateway_event(ApiGatewayEventInput {
            parts: &parts,
            body: &Bytes::from_static(b"{\"a\":1}"),
            route_key: "POST /api/orders/{order_number}",
            path_params: &[("order_number".into(), "CV 12".into())],
            request_id: "rid-1",
            source_ip: "127.0.0.1".into(),
            host: "127.0.0.1:3000".into(),
        });
        let request = lambda_http::request::from_str(&event.to_string()).expect("decodes");
        use lambda_http::RequestExt;
        assert_eq!(request.method(), "POST");
        assert_eq!(
            request.path_parameters().first("order_number"),
            Some("CV 12")
        );
        assert_eq!(request.query_string_parameters().first("limit"), Some("5"));
        assert_eq!(request.headers()["cookie"], "a=1; b=2");
        assert_eq!(request.headers()["x-multi"], "one,two");
        assert_eq!(shared::http::request_id(&request), "rid-1");
        assert_eq!(
            shared::http::source_ip(&request).as_deref(),
            Some("127.0.0.1")
        );
        match request.body() {
            Body::Text(text) => assert_eq!(text, "{\"a\":1}"),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn binary_bodies_travel_base64() {
        let req = hyper::Request::builder()
            .method("PUT")
            .uri("/x")
            .body(())
            .expect("request");
        let (parts, ()) = req.into_parts();
        let event = api_gateway_event(ApiGatewayEventInput {
            parts: &parts,
            body: &Bytes::from_static(&[0xff, 0x00, 0x10]),
            route_key: "PUT /x",
            path_params: &[],
            request_id: "r",
            source_ip: "127.0.0.1".into(),
            host: "h".into(),
        });
        assert_eq!(event["isBase64Encoded"], true);
        let request = lambda_http::request::from_str(&event.to_string()).expect("decodes");
        assert_eq!(request.body().as_ref(), &[0xff, 0x00, 0x10]);
    }

    #[test]
    fn bad_host_headers_fall_back() {
        let mut headers = hyper::HeaderMap::new();
        headers.insert("host", "evil host/".parse().expect("value"));
        assert_eq!(self_address(&headers), "127.0.0.1");
        headers.insert("host", "127.0.0.1:3000".parse().expect("value"));
        assert_eq!(self_address(&headers), "127.0.0.1:3000");
    }
}
