//! `GET /api/auth/current-user`: the signed-in account.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users, ApiError, ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "the signed-in account",
    &[Route::get("/api/auth/current-user")],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(current_user(state, req))
}

async fn current_user(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::OwnAccount)?;
    let client = state.db.get().await?;
    let user = users::find(&*client, caller.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    ok(&serde_json::json!({ "user": user }))
}
