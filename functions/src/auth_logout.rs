//! `POST /api/auth/logout`: ends the caller's session. Its refresh token stops working at
//! once; its access tokens when the authorizer's cached answer expires.

use lambda_http::{http, Body, Request, Response};
use shared::{
    auth::{caller, clearing_cookies, sessions},
    http::no_content,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "revokes the caller's session",
    &[Route::post("/api/auth/logout")],
)
    .only_policies(&[Policy::AppTableItems]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(logout(state, req))
}

async fn logout(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    sessions::revoke(state, caller.session_id).await?;
    tracing::info!(user_id = %caller.user_id, session_id = %caller.session_id, "signed out");
    let mut response = no_content();
    for cookie in clearing_cookies(state.config.auth.secure_cookies) {
        response
            .headers_mut()
            .append(http::header::SET_COOKIE, cookie);
    }
    Ok(response)
}
