//! `POST /api/file-uploads/{uploadId}/complete`: the uploader confirms the PUT. The
//! object must exist with the declared size and type; then the upload is `ACTIVE`
//! (200). A mismatch removes the object and the upload (422 `upload_mismatch`); no object
//! yet is 409 `upload_incomplete`; another's or an unknown upload is 404.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    http::ok,
    input::path_uuid,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    uploads::{complete::complete, Uploader},
    ApiResult, AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Route, Statement};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "checks the uploaded object, then makes the upload active",
    &[Route::post("/api/file-uploads/{uploadId}/complete")],
)
    .policies(&[
        Policy::Allow(&[
            Statement::allow(
                &["s3:GetObject", "s3:DeleteObject"],
                &[Cfn::Sub("${UploadsBucketArn}/*")],
            )
                .because("HeadObject needs GetObject; a mismatching object is deleted."),
        ]),
    ]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(complete_upload(state, req))
}

async fn complete_upload(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let upload_id = path_uuid(&req, "uploadId")?;
    ok(&serde_json::json!({ "upload": complete(state, Uploader::Account(caller.user_id), upload_id).await? }))
}
