//! `POST /api/users/{userId}/restore`: brings a soft-deleted account back as ACTIVE
//! (ADMIN and SUPER_ADMIN; only a SUPER_ADMIN restores a staff account). 409
//! `not_deleted` for an account that is not deleted, `purged` for one that was purged.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::path_uuid,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::lifecycle::restore,
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Admin);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "brings a soft-deleted account back (ADMIN, SUPER_ADMIN)",
    &[Route::post("/api/users/{userId}/restore").requires(Permission::RestoreUsers)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(restore_user(state, req))
}

async fn restore_user(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    let user_id = path_uuid(&req, "userId")?;
    let user = restore(state, &caller, user_id).await?;
    ok(&serde_json::json!({ "user": user }))
}
