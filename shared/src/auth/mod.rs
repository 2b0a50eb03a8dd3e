//! Identity and access: who the caller is and what they may do.
//!
//! - [`passwords`]: argon2id hashes and the password policy.
//! - [`tokens`]: short-lived signed access tokens (JWT, HS256, pinned).
//! - [`sessions`]: revocable sessions and rotating refresh tokens in DynamoDB.
//! - [`rbac`]: roles, permissions, the role × permission table, [`rbac::Caller`].
//! - [`csrf`]: the CSRF check for cookie-carried credentials.
//!
//! The authorizer function validates the token and the session once per request (or per
//! cache period, see `sign_in::authorize`) and hands `{userId, role, sessionId}` to the
//! function as authorizer context; [`caller`] reads it back. Functions never parse tokens
//! themselves.

pub mod csrf;
pub mod links;
pub mod passwords;
pub mod rbac;
pub mod sessions;
pub mod tokens;

use std::collections::HashMap;

use lambda_http::{request::RequestContext, Request, RequestExt};
use serde_json::Value;

pub use rbac::{Caller, Permission, Role, UserStatus};

use crate::error::{ApiError, ApiResult};

/// The context keys the authorizer returns and functions read.
pub mod context {
    pub const USER_ID: &str = "userId";
    pub const ROLE: &str = "role";
    pub const SESSION_ID: &str = "sessionId";
}

fn authorizer_context(req: &Request) -> Option<&HashMap<String, Value>> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.authorizer.as_ref().map(|a| &a.fields),
        _ => None,
    }
}

/// The caller the authorizer vouched for. A route behind the authorizer always has one;
/// without it (a misconfigured public route) the request is refused, never let through.
pub fn caller(req: &Request) -> ApiResult<Caller> {
    let unauthenticated = || ApiError::unauthorized("authentication required");
    let ctx = authorizer_context(req).ok_or_else(unauthenticated)?;
    let text = |key: &str| ctx.get(key).and_then(Value::as_str);
    Ok(Caller {
        user_id: text(context::USER_ID)
            .and_then(|v| v.parse().ok())
            .ok_or_else(unauthenticated)?,
        role: text(context::ROLE)
            .and_then(|v| v.parse().ok())
            .ok_or_else(unauthenticated)?,
        session_id: text(context::SESSION_ID)
            .and_then(|v| v.parse().ok())
            .ok_or_else(unauthenticated)?,
    })
}

/// The caller's user id, if the request came through the authorizer (for rate limits and
/// logs; authorization decisions use [`caller`]).
pub fn caller_id(req: &Request) -> Option<String> {
    authorizer_context(req)
        .and_then(|ctx| ctx.get(context::USER_ID))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The token of an `Authorization: Bearer …` value (the scheme in any case).
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A `Set-Cookie` value. Cookies are `HttpOnly` unless scripts must read them (the CSRF
/// token), `SameSite=Strict`, and `Secure` outside local runs.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age_secs: i64,
    http_only: bool,
    secure: bool,
) -> String {
    cookie::Cookie::build((name, value))
        .path(path)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .same_site(cookie::SameSite::Strict)
        .http_only(http_only)
        .secure(secure)
        .build()
        .to_string()
}

pub const REFRESH_COOKIE: &str = "rs_refresh";
/// Browsers send the refresh cookie only to the auth routes.
pub const REFRESH_COOKIE_PATH: &str = "/api/auth";

/// `Set-Cookie` values that clear the web app's session cookies (logout, failed refresh).
pub fn clearing_cookies(secure: bool) -> Vec<http::HeaderValue> {
    [
        set_cookie(REFRESH_COOKIE, "", REFRESH_COOKIE_PATH, 0, true, secure),
        set_cookie(csrf::CSRF_COOKIE, "", "/", 0, false, secure),
    ]
    .iter()
    .filter_map(|cookie| http::HeaderValue::from_str(cookie).ok())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_values_carry_every_attribute() {
        let cookie = set_cookie("rs_refresh", "abc", "/api/auth", 600, true, true);
        let mut parts: Vec<&str> = cookie.split("; ").collect();
        assert_eq!(parts.remove(0), "rs_refresh=abc");
        parts.sort_unstable();
        assert_eq!(
            parts,
            [
                "HttpOnly",
                "Max-Age=600",
                "Path=/api/auth",
                "SameSite=Strict",
                "Secure"
            ]
        );
        let cleared = set_cookie("rs_csrf", "", "/", 0, false, false);
        assert!(cleared.starts_with("rs_csrf=;"), "{cleared}");
        assert!(cleared.contains("Max-Age=0") && !cleared.contains("HttpOnly"));
        assert!(!cleared.contains("Secure"), "{cleared}");
    }

    #[test]
    fn reads_only_bearer_tokens() {
        assert_eq!(bearer_token("Bearer abc.def.ghi"), Some("abc.def.ghi"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
