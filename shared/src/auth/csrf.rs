//! CSRF defence for credentials carried by cookies (the web app's refresh cookie).
//!
//! A state-changing request authenticated by a cookie must either echo the CSRF cookie in
//! the `x-csrf-token` header (double submit: another site can send our cookies but cannot
//! read them) or come from an allowed `Origin`. Bearer-token clients are not affected:
//! browsers never attach those by themselves.

use http::{header, Method};
use lambda_http::Request;
use subtle::ConstantTimeEq;

use crate::{cors, error::ApiError};

pub const CSRF_COOKIE: &str = "rs_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A cookie's value from the request's `Cookie` header: the first cookie of that name, as
/// sent (not percent-decoded), unless it is empty.
pub fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)?
        // The raw value borrows the header, where `value()` borrows the parsed cookie.
        .value_raw()
        .filter(|v| !v.is_empty())
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Passes safe methods, matching double-submit tokens, and allowed origins.
pub fn verify(req: &Request, allowed_origins: &[String]) -> Result<(), ApiError> {
    if !is_state_changing(req.method()) {
        return Ok(());
    }
    if cors::allowed_origin(allowed_origins, req.headers()).is_some() {
        return Ok(());
    }
    let header_token = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if let (Some(sent), Some(expected)) = (header_token, cookie(req, CSRF_COOKIE)) {
        if sent.len() >= 32 && bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
            return Ok(());
        }
    }
    Err(ApiError::forbidden("missing or invalid CSRF token").with_code("csrf_failed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;

    fn request(
        method: &str,
        cookie: Option<&str>,
        token: Option<&str>,
        origin: Option<&str>,
    ) -> Request {
        let mut b = http::Request::builder()
            .method(method)
            .uri("/api/auth/refresh");
        if let Some(c) = cookie {
            b = b.header("cookie", c);
        }
        if let Some(t) = token {
            b = b.header(CSRF_HEADER, t);
        }
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        b.body(Body::Empty).expect("request")
    }

    #[test]
    fn cookies_are_read_from_the_cookie_header() {
        let req = request(
            "GET",
            Some("a=1; rs_csrf=tok%3D;b ; rs_csrf=second"),
            None,
            None,
        );
        assert_eq!(cookie(&req, CSRF_COOKIE), Some("tok%3D"));
        assert_eq!(cookie(&req, "a"), Some("1"));
        assert_eq!(cookie(&req, "b"), None);
        let empty = request("GET", Some("rs_csrf=; other=x"), None, None);
        assert_eq!(cookie(&empty, CSRF_COOKIE), None);
        assert_eq!(cookie(&request("GET", None, None, None), CSRF_COOKIE), None);
    }

    #[test]
    fn double_submit_or_trusted_origin() {
        let token = "k".repeat(43);
        let allowed = vec!["https://app.readyset.co".to_owned()];
        let cookie = format!("rs_refresh=x; rs_csrf={token}");
        assert!(verify(
            &request("POST", Some(&cookie), Some(&token), None),
            &allowed
        )
        .is_ok());
        assert!(verify(
            &request("POST", Some(&cookie), None, Some("https://app.readyset.co")),
            &allowed
        )
        .is_ok());
        assert!(verify(&request("GET", Some(&cookie), None, None), &allowed).is_ok());

        let refused = [
            request("POST", Some(&cookie), None, None),
            request("POST", Some(&cookie), Some(&"x".repeat(43)), None),
            request("POST", Some("rs_refresh=x"), Some(&token), None),
            request(
                "POST",
                Some(&cookie),
                Some(&token[..10]),
                Some("https://evil.example"),
            ),
            request("DELETE", Some("rs_csrf=short"), Some("short"), None),
        ];
        for req in refused {
            let err = verify(&req, &allowed).expect_err("must be refused");
            assert_eq!(err.code, "csrf_failed");
        }
    }
}
