//! Building responses and reading request metadata.
//!
//! Handlers build their body with [`json`] (or [`ok`], [`created`], [`no_content`]); the
//! runtime wrapper then passes every response, errors included, through
//! [`finish_response`], which is the one place security headers, the request id and the JSON
//! content type are added.

use http::{
    header::{self, HeaderName},
    HeaderMap, HeaderValue, StatusCode,
};
use lambda_http::{request::RequestContext, Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Headers every response carries. The API serves JSON only, so the policy denies every
/// kind of content and framing.
const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains; preload",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    ),
];

/// A JSON response with the given status.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> ApiResult<Response<Body>> {
    let bytes = serde_json::to_vec(body)?;
    let mut response = Response::new(Body::Binary(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

pub fn ok<T: Serialize + ?Sized>(body: &T) -> ApiResult<Response<Body>> {
    json(StatusCode::OK, body)
}

pub fn created<T: Serialize + ?Sized>(body: &T) -> ApiResult<Response<Body>> {
    json(StatusCode::CREATED, body)
}

/// Accepted for work that finishes later (the body says where to follow it).
pub fn accepted<T: Serialize + ?Sized>(body: &T) -> ApiResult<Response<Body>> {
    json(StatusCode::ACCEPTED, body)
}

/// The response of a HEAD request: status and headers of the GET, no body.
pub fn without_body_for_head(
    req: &lambda_http::Request,
    response: Response<Body>,
) -> Response<Body> {
    if req.method() != http::Method::HEAD {
        return response;
    }
    let (parts, _) = response.into_parts();
    Response::from_parts(parts, Body::Empty)
}

pub fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// How a function's errors look to its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    /// `{"error": {"code", "message", "requestId", "details"?}}`
    Standard,
    /// The partner API's `{"status": "ERROR", "message", "code", "requestId"}`, which
    /// partners' existing clients read.
    Partner,
}

/// Renders an error as a response (headers are added by [`finish_response`]).
pub fn error_response(err: &ApiError, request_id: &str) -> Response<Body> {
    styled_error_response(err, request_id, ErrorStyle::Standard)
}

pub fn styled_error_response(
    err: &ApiError,
    request_id: &str,
    style: ErrorStyle,
) -> Response<Body> {
    let body = match style {
        ErrorStyle::Standard => err.body(request_id),
        ErrorStyle::Partner => {
            let mut body = serde_json::json!({
                "status": "ERROR",
                "message": err.message,
                "code": err.code,
                "requestId": request_id,
            });
            if let Some(details) = &err.details {
                body["details"] = details.clone();
            }
            body
        }
    };
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = err.status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in &err.headers {
        response.headers_mut().append(name.clone(), value.clone());
    }
    response
}

/// How long a 503's `Retry-After` asks clients to wait, in seconds. A 503 means a
/// dependency is down or hung (an outage, not a bug): clients and their retry logic get
/// told so, and when to come back. Short, as most outages seen (a failover, a paused
/// store) last seconds, and retrying clients back off further themselves.
pub const UNAVAILABLE_RETRY_AFTER_SECONDS: u32 = 5;

/// Adds the request id, the security headers, `Cache-Control: no-store`, (when the
/// handler set none) the JSON content type, and to a 503 a `Retry-After`. Headers a
/// handler set itself are kept.
pub fn finish_response(mut response: Response<Body>, request_id: &str) -> Response<Body> {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .entry(header::RETRY_AFTER)
            .or_insert_with(|| HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECONDS));
    }
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers
            .entry(HeaderName::from_static(name))
            .or_insert_with(|| HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert_with(|| HeaderValue::from_static("no-store"));
    if !matches!(response.body(), Body::Empty) {
        response
            .headers_mut()
            .entry(header::CONTENT_TYPE)
            .or_insert_with(|| HeaderValue::from_static("application/json"));
    }
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    response
}

/// The request id API Gateway assigned, so logs and error bodies match its access logs.
/// Requests without one (built by hand in tests) get a fresh id.
pub fn request_id(req: &Request) -> String {
    let from_gateway = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    };
    from_gateway
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The route key API Gateway matched (`GET /api/orders/{order_number}`), for logs.
pub fn route_key(req: &Request) -> Option<String> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.clone(),
        _ => None,
    }
}

/// The caller's IP as API Gateway saw it (never a client-supplied header).
pub fn source_ip(req: &Request) -> Option<String> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    }
}

/// A header's value as text, if present and valid.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_adds_security_headers_and_request_id() {
        let response = finish_response(ok(&serde_json::json!({"a": 1})).expect("json"), "rid-9");
        let h = response.headers();
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h.contains_key("content-security-policy"));
        assert!(h.contains_key("strict-transport-security"));
        assert!(h.contains_key("referrer-policy"));
        assert!(h.contains_key("permissions-policy"));
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(h["x-request-id"], "rid-9");
    }

    #[test]
    fn errors_get_the_same_headers() {
        let err = ApiError::not_found("thing");
        let response = finish_response(error_response(&err, "rid"), "rid");
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        assert_eq!(response.headers()["content-type"], "application/json");
    }

    #[test]
    fn every_503_says_when_to_retry() {
        let err = ApiError::service_unavailable("the database is unavailable");
        let response = finish_response(error_response(&err, "rid"), "rid");
        assert_eq!(response.headers()["retry-after"], "5");
        let limited = ApiError::service_unavailable("x")
            .with_header(header::RETRY_AFTER, HeaderValue::from_static("30"));
        let response = finish_response(error_response(&limited, "rid"), "rid");
        assert_eq!(
            response.headers()["retry-after"],
            "30",
            "a handler's own wins"
        );
        let response = finish_response(error_response(&ApiError::internal("bug"), "rid"), "rid");
        assert!(
            !response.headers().contains_key("retry-after"),
            "a 500 is not an outage"
        );
    }

    #[test]
    fn handler_headers_win() {
        let mut response = ok("x").expect("json");
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=60"),
        );
        let response = finish_response(response, "r");
        assert_eq!(response.headers()["cache-control"], "max-age=60");
    }
}
