//! CORS for browser clients, with an explicit allow-list of origins from the config.
//!
//! In AWS the HttpApi's `CorsConfiguration` answers preflights with the same list; the
//! local gateway uses [`preflight`], and every response gets [`apply`].

use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Response};

const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const ALLOWED_HEADERS: &str =
    "authorization, content-type, idempotency-key, x-csrf-token, x-api-key, partner, x-request-id";
const EXPOSED_HEADERS: &str =
    "x-request-id, retry-after, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, x-idempotent-replay";

/// The request's `Origin`, when it is on the allow-list.
pub fn allowed_origin<'a>(allow_list: &[String], headers: &'a HeaderMap) -> Option<&'a str> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    allow_list.iter().any(|o| o == origin).then_some(origin)
}

/// Adds the CORS response headers for an allowed origin.
pub fn apply(allow_list: &[String], request_headers: &HeaderMap, response: &mut Response<Body>) {
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = allowed_origin(allow_list, request_headers) {
        if let Ok(value) = HeaderValue::from_str(origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED_HEADERS),
            );
        }
    }
}

/// Whether a request is a CORS preflight.
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The answer to a preflight: 204, with the allow headers only for an allowed origin.
pub fn preflight(allow_list: &[String], request_headers: &HeaderMap) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    if let Some(origin) = allowed_origin(allow_list, request_headers) {
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Origin"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, origin.parse().expect("origin"));
        h.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            "POST".parse().expect("method"),
        );
        h
    }

    #[test]
    fn only_listed_origins_are_echoed() {
        let list = vec!["https://app.readyset.co".to_owned()];
        let ok = preflight(&list, &headers("https://app.readyset.co"));
        assert_eq!(
            ok.headers()["access-control-allow-origin"],
            "https://app.readyset.co"
        );
        let denied = preflight(&list, &headers("https://evil.example"));
        assert!(!denied.headers().contains_key("access-control-allow-origin"));
        // No prefix or suffix tricks.
        assert!(allowed_origin(&list, &headers("https://app.readyset.co.evil.example")).is_none());
    }
}
