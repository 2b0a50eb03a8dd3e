//! `POST /api/job-applications/{applicationId}/documents`: a presigned PUT for one of an
//! applicant's documents, with `Authorization: Bearer {uploadToken}` (the application's
//! upload link; no account).
//!
//! Body `{fileName, fileType, fileSize, category}` (category `DRIVERS_LICENSE`,
//! `INSURANCE`, `VEHICLE_REGISTRATION`, `RESUME` or `DOCUMENT`; 10 MB each, at most ten).
//! Answers `{uploadId, signedUrl, path, expiresAt, headers}` as the file routes do; then
//! complete it at `…/documents/{uploadId}/complete`. A missing, altered or expired link,
//! another application's, or a decided application is 404. 20 an hour per client IP.

use lambda_http::{Body, Request, Response};
use shared::{
    users::applications::sign_document,
    auth::bearer_token,
    http::{header, ok},
    input::{parse_json, path_uuid},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    uploads::sign::FileFields,
    ApiResult, AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Route, Statement};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Uploads).warm_signing_key();

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "a presigned upload of an applicant's document, by the upload link",
    &[Route::post("/api/job-applications/{applicationId}/documents").without_authorizer()],
)
    .policies(&[
        Policy::SigningKeyRead,
        Policy::Allow(&[
            Statement::allow(&["s3:PutObject"], &[Cfn::Sub("${UploadsBucketArn}/*")])
                .because("The presigned PUT is signed with this role: it may only put objects."),
        ]),
    ]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(documents(state, req))
}

async fn documents(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let application_id = path_uuid(&req, "applicationId")?;
    let token = header(req.headers(), "authorization").and_then(bearer_token);
    let file: FileFields = parse_json(&req)?;
    ok(&sign_document(state, application_id, token, &file).await?)
}
