//! `GET | PATCH /api/admin/job-applications/{applicationId}`: one driver application.
//!
//! GET (staff): `{application, documents, history}`; documents download through
//! `GET /api/file-uploads/{uploadId}`. PATCH `{status?, notes?}` (staff) moves it on:
//! `PENDING` → `INTERVIEWING` → `APPROVED` | `REJECTED`, decisions final (400 otherwise).
//! Approving is an ADMIN's: it opens the DRIVER account and answers `{application,
//! account {user, setPasswordToken, setPasswordExpiresAt}}` once (409 `email_taken` if
//! the email already has an account). Each change is audited.

use lambda_http::{http::Method, Body, Request, Response};
use shared::{
    auth::Permission,
    users::applications::{detail, review, Review},
    auth::caller,
    http::ok,
    input::{parse_json, path_uuid},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "one driver application; review and approval",
    &[
        Route::get("/api/admin/job-applications/{applicationId}")
            .requires(Permission::ReviewApplications),
        Route::patch("/api/admin/job-applications/{applicationId}")
            .requires(Permission::ReviewApplications),
    ],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(application(state, req))
}

async fn application(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let id = path_uuid(&req, "applicationId")?;
    if req.method() == Method::PATCH {
        let body: Review = parse_json(&req)?;
        ok(&review(state, &caller, id, &body).await?)
    } else {
        ok(&detail(state, &caller, id).await?)
    }
}
