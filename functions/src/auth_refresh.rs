//! `POST /api/auth/refresh`: swaps a refresh token for a new access token and a new
//! refresh token. The old refresh token stops working; presented again within a few
//! seconds (another tab refreshing at once) it gets the same new token, later it revokes
//! the session. The token comes in the body (API clients) or the refresh cookie (the web
//! app, which must then pass the CSRF check). Sixty a minute per client IP, five per
//! session.

use lambda_http::{Body, Request, Response};
use shared::{
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    sign_in::refresh,
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Refresh).warm_signing_key();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "rotates the refresh token, issues an access token",
    // A much smaller budget than the stage's, as for the other sign-in routes.
    &[Route::post("/api/auth/refresh")
        .without_authorizer()
        .throttle(20, 10)],
)
    .policies(&[Policy::SigningKeyRead]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(refresh_tokens(state, req))
}

async fn refresh_tokens(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    refresh(state, &req).await
}
