//! Identity and access: who the caller is and what they may do.
//!
//! - [`passwords`]: argon2id hashes and the password policy.
//! - [`tokens`]: short-lived signed access tokens (JWT, HS256, pinned).
//! - [`sessions`]: revocable sessions and rotating refresh tokens in DynamoDB.
//! - [`rbac`]: roles, permissions, the role × permission table, [`rbac::Caller`].
//! - [`csrf`]: the CSRF check for cookie-carried credentials.
//!
//! The authorizer function validates the token and the session once per request (or per
//! cache period) and hands `{userId, role, sessionId}` to the function as authorizer
//! context; [`caller`] reads it back. Functions never parse tokens themselves.

pub mod csrf;
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
    let mut cookie =
        format!("{name}={value}; Path={path}; Max-Age={max_age_secs}; SameSite=Strict");
    if http_only {
        cookie.push_str("; HttpOnly");
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

pub const REFRESH_COOKIE: &str = "rs_refresh";
/// Browsers send the refresh cookie only to the auth routes.
pub const REFRESH_COOKIE_PATH: &str = "/api/auth";

/// The answer to a successful login or refresh: the access token and refresh token in the
/// body (API clients), and the refresh token plus a CSRF token as cookies (the web app).
pub async fn token_response(
    state: &crate::AppState,
    user: &crate::users::User,
    session: &sessions::Session,
    refresh_token: &str,
) -> ApiResult<lambda_http::Response<lambda_http::Body>> {
    let keys = state.jwt().await?;
    let (access_token, expires_at) = keys.issue(user.id, session.id, user.role, chrono::Utc::now());
    let settings = &state.config.auth;
    let max_age = settings.refresh_ttl.num_seconds();
    let csrf_token = {
        use base64::Engine;
        use rand::RngExt;
        let bytes: [u8; 32] = rand::rng().random();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    };
    let mut response = crate::http::ok(&serde_json::json!({
        "accessToken": access_token,
        "tokenType": "Bearer",
        "expiresIn": keys.ttl().num_seconds(),
        "expiresAt": expires_at,
        "refreshToken": refresh_token,
        "user": user,
    }))?;
    let cookies = [
        set_cookie(
            REFRESH_COOKIE,
            refresh_token,
            REFRESH_COOKIE_PATH,
            max_age,
            true,
            settings.secure_cookies,
        ),
        set_cookie(
            csrf::CSRF_COOKIE,
            &csrf_token,
            "/",
            max_age,
            false,
            settings.secure_cookies,
        ),
    ];
    for cookie in cookies {
        let value = http::HeaderValue::from_str(&cookie).map_err(ApiError::internal)?;
        response
            .headers_mut()
            .append(http::header::SET_COOKIE, value);
    }
    Ok(response)
}

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

/// Why a token was not accepted (logged by the authorizer, never shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    BadToken,
    SessionEnded,
    AccountInactive,
}

/// The authorizer's decision for a bearer token: a valid signature, algorithm, expiry,
/// issuer and audience; a live session; an active, not deleted account. The role comes
/// from the account, so a role change applies at the next authorization. Err only when a
/// store is unreachable.
pub async fn authorize(state: &crate::AppState, token: &str) -> ApiResult<Result<Caller, Denial>> {
    let keys = state.jwt().await?;
    let Ok(claims) = keys.verify(token) else {
        return Ok(Err(Denial::BadToken));
    };
    let now = chrono::Utc::now();
    match sessions::get(state, claims.sid).await? {
        Some(session) if session.is_live(now) && session.user_id == claims.sub => {}
        _ => return Ok(Err(Denial::SessionEnded)),
    }
    let client = state.db.get().await?;
    let Some(user) = crate::users::find(&*client, claims.sub)
        .await?
        .filter(|u| u.is_active())
    else {
        return Ok(Err(Denial::AccountInactive));
    };
    Ok(Ok(Caller {
        user_id: user.id,
        role: user.role,
        session_id: claims.sid,
    }))
}
