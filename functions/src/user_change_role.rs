//! `POST /api/users/{userId}/change-role`: ADMIN and SUPER_ADMIN change an account's role;
//! only a SUPER_ADMIN grants, changes or removes the HELPDESK, ADMIN and SUPER_ADMIN roles.
//! Every change is audited.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::ok,
    input::{parse_json, path_uuid},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::admin::{change_role, RoleChange},
    ApiResult, AppState,
};

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Admin);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "ADMIN / SUPER_ADMIN role changes",
    &[Route::post("/api/users/{userId}/change-role").requires(Permission::ChangeRoles)],
);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(change(state, req))
}

async fn change(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::ChangeRoles)?;
    let user_id = path_uuid(&req, "userId")?;
    let body: RoleChange = parse_json(&req)?;
    let user = change_role(state, &caller, user_id, &body).await?;
    ok(&serde_json::json!({ "user": user }))
}
