//! `GET | PATCH | DELETE /api/users/{userId}`: one account.
//!
//! Anyone reads and edits their own profile; staff read and edit others within their rank
//! (see `rbac::may_manage`); ADMIN and SUPER_ADMIN soft-delete (`?reason=` is audited).
//! An account the caller may not see answers 404, exactly like one that does not exist.

use lambda_http::{http::Method, Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::{no_content, ok},
    input::{parse_json, path_uuid, query_param},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::admin::{find_visible, soft_delete, update_profile, ProfileUpdate},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "one account (self or staff)",
    &[
        Route::get("/api/users/{userId}"),
        Route::patch("/api/users/{userId}"),
        Route::delete("/api/users/{userId}").requires(Permission::DeleteUsers),
    ],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(user_by_id(state, req))
}

async fn user_by_id(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::OwnAccount)?;
    let user_id = path_uuid(&req, "userId")?;
    match *req.method() {
        Method::PATCH => {
            let edit: ProfileUpdate = parse_json(&req)?;
            let user = update_profile(state, &caller, user_id, &edit).await?;
            ok(&serde_json::json!({ "user": user }))
        }
        Method::DELETE => {
            soft_delete(state, &caller, user_id, query_param(&req, "reason")).await?;
            Ok(no_content())
        }
        _ => {
            let client = state.db.get().await?;
            let user = find_visible(&*client, &caller, user_id).await?;
            ok(&serde_json::json!({ "user": user }))
        }
    }
}
