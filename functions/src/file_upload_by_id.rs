//! `GET /api/file-uploads/{uploadId}`: a presigned download of an active file, valid
//! five minutes, for its uploader and whoever may attach to what it belongs to (the
//! order's owner, its assigned driver, staff; the account itself). Anyone else, and a
//! file still pending, gets 404.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    http::ok,
    input::path_uuid,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    uploads::read::download,
    ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(file_by_id(state, req))
}

async fn file_by_id(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let upload_id = path_uuid(&req, "uploadId")?;
    ok(&download(state, &caller, upload_id).await?)
}
