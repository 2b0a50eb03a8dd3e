//! The operations page (`GET /ops`): one HTML document, its script and styles inline (no
//! build step, nothing from another origin). Staff sign in on it; it then reads
//! `/api/health`, `/api/health/errors`, `/api/health/alerts` and `/api/admin/logs` with
//! the access token, which it keeps in memory only, and refreshes every 30 seconds.
//!
//! Its content security policy allows only the inline script and styles carrying this
//! response's nonce and requests to the API's own origin.

use base64::Engine;
use http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use rand::RngExt;

use crate::{ApiError, ApiResult};

const PAGE: &str = include_str!("page.html");

/// The page, with a fresh nonce in its policy, script and styles.
pub fn page() -> ApiResult<Response<Body>> {
    let bytes: [u8; 18] = rand::rng().random();
    let nonce = base64::engine::general_purpose::STANDARD.encode(bytes);
    let policy = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
         connect-src 'self'; img-src 'self' data:; form-action 'none'; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let mut response = Response::new(Body::Text(PAGE.replace("{{NONCE}}", &nonce)));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&policy).map_err(ApiError::internal)?,
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_inline_block_carries_the_nonce_of_the_policy() {
        let response = page().expect("page");
        let Body::Text(html) = response.body() else {
            panic!("a text body");
        };
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("policy");
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce");
        assert_eq!(html.matches(&format!("nonce=\"{nonce}\"")).count(), 2);
        assert!(!html.contains("{{NONCE}}"));
        // Nothing is loaded from elsewhere.
        assert!(!html.contains("src=\"http"), "no third-party script");
        assert_ne!(
            page().expect("page").headers()[header::CONTENT_SECURITY_POLICY],
            policy
        );
    }
}
