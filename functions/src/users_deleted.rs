//! `GET /api/users/deleted`: soft-deleted (and purged) accounts, most recently deleted
//! first, in cursor pages (`?limit=&cursor=`; staff).

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::PageRequest,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::lifecycle::list_deleted,
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Admin);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "soft-deleted and purged accounts (staff)",
    &[Route::get("/api/users/deleted").requires(Permission::ListUsers)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(deleted(state, req))
}

async fn deleted(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    caller(&req)?.require(Permission::ListUsers)?;
    let page = PageRequest::from_request(&req)?;
    let client = state.db.get().await?;
    ok(&list_deleted(&*client, &page).await?)
}
