//! Signing in and staying signed in: login, refresh, the authorizer's decision on a bearer
//! token, and the token answer with its cookies.
//!
//! Budgets: the routes count per client IP ([`RateClass::SignIn`], [`RateClass::Refresh`],
//! in the runtime); a login also counts per account ([`RateClass::SignInAccount`], 5 a
//! minute) and a refresh per session ([`RateClass::RefreshSession`]), so one office behind
//! a NAT does not lock itself out while guessing one account's password stays slow.

use lambda_http::{http, Body, Request, Response};
use serde::Deserialize;

use crate::{
    auth::{
        clearing_cookies, csrf, passwords, sessions, set_cookie, Caller, UserStatus,
        REFRESH_COOKIE, REFRESH_COOKIE_PATH,
    },
    error::{ApiError, ApiResult},
    input::{body_bytes, parse_json, MAX_BODY_BYTES},
    ratelimit::{self, RateClass},
    users::{self, normalize_email, User},
    AppState,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// Email and password for an access token and a refresh token. Every failure gets the
/// same answer, so the route does not reveal which emails exist.
pub async fn login(
    state: &AppState,
    req: &Request,
    body: &LoginRequest,
) -> ApiResult<Response<Body>> {
    let rejected = || {
        ApiError::unauthorized("email or password is incorrect").with_code("invalid_credentials")
    };
    if body.password.len() > 1024 {
        return Err(rejected());
    }
    let email = normalize_email(&body.email).map_err(|_| rejected())?;
    ratelimit::charge(
        state,
        ratelimit::Drawn::of(req),
        RateClass::SignInAccount,
        &format!("account:{email}"),
    )
    .await?;
    let account = {
        let client = state.db.get().await?;
        users::find_for_login(&*client, &email).await?
    };
    let (user, hash) = match account {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    if !passwords::verify(&body.password, hash.as_deref()).await? {
        return Err(rejected());
    }
    let user = user.ok_or_else(rejected)?;
    if user.deleted_at.is_some() || user.status == UserStatus::Deleted {
        return Err(rejected());
    }
    if user.status == UserStatus::Pending {
        return Err(
            ApiError::forbidden("the account is waiting for approval").with_code("account_pending")
        );
    }
    let (session, refresh_token) = sessions::create(state, user.id, user.role).await?;
    tracing::info!(user_id = %user.id, session_id = %session.id, "signed in");
    token_response(state, &user, &refresh_token).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
}

/// Swaps a refresh token for a new access token and refresh token. The token comes in the
/// body (API clients) or the refresh cookie (the web app, which must then pass the CSRF
/// check). A refused refresh also clears the web app's cookies, so it stops retrying.
pub async fn refresh(state: &AppState, req: &Request) -> ApiResult<Response<Body>> {
    let has_body = body_bytes(req, MAX_BODY_BYTES)?
        .iter()
        .any(|b| !b.is_ascii_whitespace());
    let presented = if has_body {
        parse_json::<RefreshRequest>(req)?.refresh_token
    } else {
        let cookie = csrf::cookie(req, REFRESH_COOKIE).ok_or_else(|| {
            ApiError::unauthorized("a refresh token is required").with_code("invalid_refresh_token")
        })?;
        csrf::verify(req, &state.config.auth.allowed_origins)?;
        cookie.to_owned()
    };
    let secure = state.config.auth.secure_cookies;
    let refused = |message: &str| {
        clearing_cookies(secure).into_iter().fold(
            ApiError::unauthorized(message.to_owned()).with_code("invalid_refresh_token"),
            |err, cookie| err.with_header(http::header::SET_COOKIE, cookie),
        )
    };
    if let Some(session_id) = sessions::session_of(&presented) {
        ratelimit::charge(
            state,
            ratelimit::Drawn::of(req),
            RateClass::RefreshSession,
            &format!("session:{session_id}"),
        )
        .await?;
    }
    let (session, next_token) = match sessions::rotate(state, &presented).await {
        Ok(rotated) => rotated,
        Err(sessions::RefreshError::Invalid) => {
            return Err(refused("the refresh token is invalid or expired"))
        }
        Err(sessions::RefreshError::Reused) => {
            return Err(refused("the refresh token was already used; sign in again"))
        }
        Err(sessions::RefreshError::Store(err)) => return Err(err),
    };
    let (user, cut_off) = {
        let client = state.db.get().await?;
        let cut_off = users::session_cut_off(&*client, &session).await?;
        (users::find(&*client, session.user_id).await?, cut_off)
    };
    let Some(user) = user.filter(|u| u.is_active() && !cut_off) else {
        sessions::revoke(state, session.id).await?;
        return Err(refused("the account is no longer active"));
    };
    token_response(state, &user, &next_token).await
}

/// The answer to a successful login or refresh: the access token and refresh token in the
/// body (API clients), and the refresh token plus a CSRF token as cookies (the web app).
async fn token_response(
    state: &AppState,
    user: &User,
    refresh_token: &str,
) -> ApiResult<Response<Body>> {
    let session_id = sessions::session_of(refresh_token)
        .ok_or_else(|| ApiError::internal("a refresh token without its session"))?;
    let keys = state.jwt().await?;
    let (access_token, expires_at) = keys.issue(user.id, session_id, user.role, chrono::Utc::now());
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

/// Why a token was not accepted (logged by the authorizer, never shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    BadToken,
    SessionEnded,
    AccountInactive,
}

/// The decision on a bearer token: a valid signature, algorithm, expiry, issuer and
/// audience; a live session; an active, not deleted account. The role comes from the
/// account, so a role change applies at the next authorization. Err only when a store is
/// unreachable.
pub async fn authorize(state: &AppState, token: &str) -> ApiResult<Result<Caller, Denial>> {
    let (claimed, session) = match live_session(state, token).await? {
        Ok(found) => found,
        Err(denial) => return Ok(Err(denial)),
    };
    let client = state.db.get().await?;
    if users::session_cut_off(&*client, &session).await? {
        return Ok(Err(Denial::SessionEnded));
    }
    let Some(user) = users::find(&*client, claimed.user_id)
        .await?
        .filter(|u| u.is_active())
    else {
        return Ok(Err(Denial::AccountInactive));
    };
    Ok(Ok(Caller {
        user_id: user.id,
        role: user.role,
        session_id: claimed.session_id,
    }))
}

/// The caller of a valid token of a live session, with the role the token was signed
/// with (at most one access-token lifetime old), without reading the account: what a view
/// that must answer while the database is down can rely on.
pub async fn session_caller(state: &AppState, token: &str) -> ApiResult<Result<Caller, Denial>> {
    Ok(live_session(state, token).await?.map(|(caller, _)| caller))
}

/// [`session_caller`] with the session it found.
async fn live_session(
    state: &AppState,
    token: &str,
) -> ApiResult<Result<(Caller, sessions::Session), Denial>> {
    let keys = state.jwt().await?;
    let Ok(claims) = keys.verify(token) else {
        return Ok(Err(Denial::BadToken));
    };
    let now = chrono::Utc::now();
    let session = match sessions::get(state, claims.sid).await? {
        Some(session) if session.is_live(now) && session.user_id == claims.sub => session,
        _ => return Ok(Err(Denial::SessionEnded)),
    };
    let caller = Caller {
        user_id: claims.sub,
        role: claims.role,
        session_id: claims.sid,
    };
    Ok(Ok((caller, session)))
}

/// The caller of the request's bearer token as [`session_caller`] decides, for routes
/// that must answer while the database is down (so they run without the authorizer,
/// which reads the account): 401 without a valid token of a live session.
pub async fn session_caller_of(state: &AppState, req: &Request) -> ApiResult<Caller> {
    let token = crate::http::header(req.headers(), "authorization")
        .and_then(crate::auth::bearer_token)
        .ok_or_else(|| ApiError::unauthorized("authentication required"))?;
    session_caller(state, token)
        .await?
        .map_err(|_| ApiError::unauthorized("the token is invalid or its session has ended"))
}

/// The caller a request's own `Authorization: Bearer` header names, for public routes
/// that show more to signed-in staff (the authorizer does not run on them), as
/// [`session_caller`] judges it. `None` for no token, a refused one, or an unreachable
/// store.
pub async fn optional_caller(state: &AppState, req: &Request) -> Option<Caller> {
    let token =
        crate::http::header(req.headers(), "authorization").and_then(crate::auth::bearer_token)?;
    match session_caller(state, token).await {
        Ok(Ok(caller)) => Some(caller),
        Ok(Err(_)) => None,
        Err(err) => {
            tracing::warn!(error = %crate::error::chain(&err), "could not check an optional bearer token");
            None
        }
    }
}
