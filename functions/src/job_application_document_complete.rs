//! `POST /api/job-applications/{applicationId}/documents/{uploadId}/complete`: the
//! applicant confirms a document's PUT, with `Authorization: Bearer {uploadToken}`.
//!
//! The same checks as `POST /api/file-uploads/{uploadId}/complete`: the object must exist
//! with the declared size and type, then the document is `ACTIVE` and staff see it on the
//! application (422 `upload_mismatch`, 409 `upload_incomplete`, 410 `upload_expired`).
//! A missing, altered or expired link, or another application's upload, is 404.

use lambda_http::{Body, Request, Response};
use shared::{
    users::applications::complete_document,
    auth::bearer_token,
    http::{header, ok},
    input::path_uuid,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Route, Statement};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Uploads).warm_signing_key();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "checks an applicant's uploaded document",
    &[
        Route::post("/api/job-applications/{applicationId}/documents/{uploadId}/complete")
            .without_authorizer(),
    ],
)
    .policies(&[
        Policy::SigningKeyRead,
        Policy::Allow(&[
            Statement::allow(
                &["s3:GetObject", "s3:DeleteObject"],
                &[Cfn::Sub("${UploadsBucketArn}/*")],
            )
                .because("HeadObject needs GetObject; a mismatching object is deleted."),
        ]),
    ]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(complete(state, req))
}

async fn complete(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let application_id = path_uuid(&req, "applicationId")?;
    let upload_id = path_uuid(&req, "uploadId")?;
    let token = header(req.headers(), "authorization").and_then(bearer_token);
    let upload = complete_document(state, application_id, token, upload_id).await?;
    ok(&serde_json::json!({ "upload": upload }))
}
