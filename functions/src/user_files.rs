//! `GET /api/users/{userId}/files`: the account's active files (those it uploaded and
//! those attached to it), newest first, in cursor pages, for the account itself and
//! staff; anyone else gets 404.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::caller,
    http::ok,
    input::{path_uuid, PageRequest},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    uploads::list::for_user,
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "pages of an account's files",
    &[Route::get("/api/users/{userId}/files")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(user_files(state, req))
}

async fn user_files(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let user_id = path_uuid(&req, "userId")?;
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    ok(&for_user(&*client, &caller, user_id, &page).await?)
}
