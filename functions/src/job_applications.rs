//! `POST /api/job-applications`: anyone applies to drive, without an account.
//!
//! Body `{firstName, lastName, email, phone, city?, state?, zip?, vehicleType?,
//! yearsExperience?, message?}`. Answers 201 `{application {id, status, createdAt},
//! uploadToken, uploadTokenExpiresAt, documentsPath}`: documents are uploaded to
//! `documentsPath` with `Authorization: Bearer {uploadToken}` for the next hour. One
//! application under review per email (409 `application_open`). Five an hour per client IP.

use lambda_http::{Body, Request, Response};
use shared::{
    users::applications::{submit, NewApplication},
    http::created,
    input::parse_json,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Applications).warm_signing_key();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "anyone applies to drive and gets an upload link for documents",
    &[Route::post("/api/job-applications").without_authorizer()],
)
    .policies(&[Policy::SigningKeyRead]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(apply(state, req))
}

async fn apply(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let body: NewApplication = parse_json(&req)?;
    created(&submit(state, &body).await?)
}
