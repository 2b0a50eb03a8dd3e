//! `POST /api/auth/login`: email and password for an access token and a refresh token.
//!
//! Thirty attempts a minute per client IP, five per account.

use lambda_http::{Body, Request, Response};
use shared::{
    input::parse_json,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    sign_in::{login, LoginRequest},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::SignIn).warm_signing_key();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "email and password for access and refresh tokens",
    // A much smaller budget than the stage's: sign-in is what credential stuffing hits.
    &[Route::post("/api/auth/login")
        .without_authorizer()
        .throttle(20, 10)],
)
    .policies(&[Policy::SigningKeyRead]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(sign_in(state, req))
}

async fn sign_in(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let body: LoginRequest = parse_json(&req)?;
    login(state, &req, &body).await
}
