//! `POST /api/file-uploads/signed-url`: a presigned PUT for one file.
//!
//! Body `{fileName, fileType, fileSize, category, entityType, entityId}`. The name, the
//! declared type (which must agree with the name's extension), the size (POD and
//! SIGNATURE photos 5 MB, documents 10 MB) and the caller's right to attach to the order
//! or account are checked; another's entity is a 404. Answers `{uploadId, signedUrl,
//! path, expiresAt, headers}`: PUT the bytes to `signedUrl` with `headers` within ten
//! minutes. The upload stays `PENDING` until it is completed. 20 per hour per user.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    http::ok,
    input::parse_json,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    uploads::sign::{sign, SignRequest},
    ApiResult, AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Route, Statement};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Uploads);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Orders,
    "a presigned PUT for one checked file",
    &[Route::post("/api/file-uploads/signed-url")],
)
    .policies(&[
        Policy::Allow(&[
            Statement::allow(&["s3:PutObject"], &[Cfn::Sub("${UploadsBucketArn}/*")])
                .because("The presigned PUT is signed with this role: it may only put objects."),
        ]),
    ]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(signed_url(state, req))
}

async fn signed_url(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let request: SignRequest = parse_json(&req)?;
    ok(&sign(state, &caller, &request).await?)
}
