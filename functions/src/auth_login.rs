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

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::SignIn).warm_signing_key();

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(sign_in(state, req))
}

async fn sign_in(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let body: LoginRequest = parse_json(&req)?;
    login(state, &req, &body).await
}
