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
pub mod pins;
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
    /// Present (`"true"`) when the authorizer approved on the token alone because a store
    /// was unavailable: the runtime checks the session and account before the handler
    /// runs (see the `provisional` module).
    pub const PROVISIONAL: &str = "provisional";
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

/// Whether the authorizer approved the request provisionally (see the `provisional` module).
pub fn is_provisional(req: &Request) -> bool {
    authorizer_context(req)
        // Whatever its value: the marker only ever forces the check.
        .is_some_and(|ctx| ctx.contains_key(context::PROVISIONAL))
}

/// The request with `caller` as the authorizer's context, the provisional marker gone:
/// what the authorizer would have passed had every store answered.
pub fn with_caller(mut req: Request, caller: &Caller) -> Request {
    if let Some(RequestContext::ApiGatewayV2(ctx)) =
        req.extensions_mut().get_mut::<RequestContext>()
    {
        if let Some(authorizer) = ctx.authorizer.as_mut() {
            let fields = &mut authorizer.fields;
            fields.remove(context::PROVISIONAL);
            fields.insert(
                context::USER_ID.into(),
                Value::String(caller.user_id.to_string()),
            );
            fields.insert(
                context::ROLE.into(),
                Value::String(caller.role.as_str().into()),
            );
            fields.insert(
                context::SESSION_ID.into(),
                Value::String(caller.session_id.to_string()),
            );
        }
    }
    req
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

    fn request_with_context(context: Value) -> Request {
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": "GET /api/user-orders",
            "rawPath": "/api/user-orders",
            "rawQueryString": "",
            "headers": {},
            "requestContext": {
                "accountId": "000000000000",
                "apiId": "local",
                "domainName": "localhost",
                "domainPrefix": "localhost",
                "http": {"method": "GET", "path": "/api/user-orders", "protocol": "HTTP/1.1",
                         "sourceIp": "127.0.0.1", "userAgent": "test"},
                "requestId": "r-1",
                "routeKey": "GET /api/user-orders",
                "stage": "$default",
                "time": "06/Dec/2026:10:00:00 +0000",
                "timeEpoch": 0,
                "authorizer": {"lambda": context},
            },
            "isBase64Encoded": false,
        });
        lambda_http::request::from_str(&event.to_string()).expect("event")
    }

    #[test]
    fn a_confirmed_caller_replaces_a_provisional_one() {
        let user = uuid::Uuid::new_v4();
        let session = uuid::Uuid::new_v4();
        let provisional = request_with_context(serde_json::json!({
            "userId": user.to_string(), "role": "ADMIN", "sessionId": session.to_string(),
            "provisional": "true",
        }));
        assert!(is_provisional(&provisional));
        let confirmed = Caller {
            user_id: user,
            role: Role::Client,
            session_id: session,
        };
        let req = with_caller(provisional, &confirmed);
        assert!(!is_provisional(&req));
        let caller = caller(&req).expect("caller");
        assert_eq!(
            caller.role,
            Role::Client,
            "the account's role, not the token's"
        );
        assert_eq!((caller.user_id, caller.session_id), (user, session));
        let checked = request_with_context(serde_json::json!({
            "userId": user.to_string(), "role": "CLIENT", "sessionId": session.to_string(),
        }));
        assert!(!is_provisional(&checked));
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
