//! `POST /api/errors`: the web app's error boundaries report a client-side error.
//!
//! Body `{message, stack?, componentStack?, url?, userAgent?, severity?, category?,
//! context?}` of at most 16 KB; unknown fields are ignored. Anyone may report (an error
//! can happen before sign-in); a bearer token, when sent, names the user. The report is
//! sanitised and grouped like a server failure. 202 `{id, fingerprint}`; 400 naming
//! every invalid field; 413 over the size; 429 past 30 reports a minute; 503 when the
//! error store cannot be written.

use lambda_http::{http::StatusCode, Body, Request, Response};
use serde_json::json;
use shared::{
    http::{json, request_id},
    input::{body_bytes, parse_json},
    monitoring::{
        self,
        client::{ClientErrorReport, MAX_REPORT_BYTES},
    },
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    sign_in::optional_caller,
    ApiError, ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Policy, Route};

pub const FUNCTION: HttpFunction =
    HttpFunction::new(handler, RateClass::ErrorReports).warm_signing_key();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Operations,
    "the web app reports a client-side error",
    // A broken page can loop: the error store must not take the flood.
    &[Route::post("/api/errors")
        .without_authorizer()
        .throttle(50, 20)],
)
    .policies(&[Policy::SigningKeyRead]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(report_error(state, req))
}

async fn report_error(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    body_bytes(&req, MAX_REPORT_BYTES)?;
    let report: ClientErrorReport = parse_json(&req)?;
    let caller = optional_caller(state, &req).await;
    let report = report.into_report(&request_id(&req), caller.map(|c| c.user_id))?;
    let recorded = monitoring::record(state, report)
        .await
        .ok_or_else(|| ApiError::service_unavailable("the error store is unavailable; retry"))?;
    json(
        StatusCode::ACCEPTED,
        &json!({ "id": recorded.id, "fingerprint": recorded.fingerprint }),
    )
}
