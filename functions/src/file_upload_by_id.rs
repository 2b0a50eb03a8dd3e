//! `GET | DELETE /api/file-uploads/{uploadId}`: one file.
//!
//! GET gives a presigned download of an active file, valid five minutes, to whoever may
//! see it (its uploader; the order's owner, its assigned driver and staff; the account
//! itself). DELETE removes it (204): its uploader (a pending upload too) or staff; the
//! cleanup job removes the object after the retention; a delivery's proof is kept (409).
//! Anyone else who sees the file gets 403 on DELETE; a file they may not see is 404.

use lambda_http::{http::Method, Body, Request, Response};
use shared::{
    auth::caller,
    http::{no_content, ok},
    input::path_uuid,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    uploads::{read::download, remove::remove},
    ApiResult, AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Route, Statement};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "a presigned download for those who may see the file; removal by its uploader or staff",
    &[Route::get("/api/file-uploads/{uploadId}"), Route::delete("/api/file-uploads/{uploadId}")],
)
    .policies(&[
        Policy::Allow(&[
            Statement::allow(&["s3:GetObject"], &[Cfn::Sub("${UploadsBucketArn}/*")])
                .because("The presigned GET is signed with this role: it may only read objects."),
        ]),
    ]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(file_by_id(state, req))
}

async fn file_by_id(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let upload_id = path_uuid(&req, "uploadId")?;
    if req.method() == Method::DELETE {
        remove(state, &caller, upload_id).await?;
        return Ok(no_content());
    }
    ok(&download(state, &caller, upload_id).await?)
}
