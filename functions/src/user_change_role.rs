//! `POST /api/users/{userId}/change-role`: ADMIN and SUPER_ADMIN change an account's role;
//! only SUPER_ADMIN moves an account to or from SUPER_ADMIN. Every change is audited.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::{
    auth::{caller, rbac::may_change_role, Permission, Role},
    db::p,
    http::ok,
    input::{bounded_text, parse_json, path_uuid, Validator},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::{self, User, USER_COLUMNS},
    ApiError, ApiResult, AppState,
};

use crate::user_by_id::lock_visible;

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Admin);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(change_role(state, req))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeRole {
    #[serde(alias = "newRole", alias = "type")]
    role: Role,
    reason: Option<String>,
}

async fn change_role(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::ChangeRoles)?;
    let user_id = path_uuid(&req, "userId")?;
    let body: ChangeRole = parse_json(&req)?;
    let mut v = Validator::new();
    let reason = body
        .reason
        .as_deref()
        .and_then(|r| v.take(bounded_text("reason", r, 1, 500, false)));
    v.finish()?;
    if user_id == caller.user_id {
        return Err(ApiError::forbidden("you may not change your own role"));
    }

    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let target = lock_visible(&tx, &caller, user_id, Permission::ChangeRoles).await?;
    if !may_change_role(caller.role, target.role, body.role) {
        return Err(ApiError::forbidden(format!(
            "you may not change a {} account to {}",
            target.role, body.role
        )));
    }
    let sql = format!("UPDATE users SET role = $2 WHERE id = $1 RETURNING {USER_COLUMNS}");
    let row = tx
        .query_typed_one(&sql, &[p(&user_id), p(&body.role.as_str())])
        .await?;
    if body.role == Role::Driver {
        tx.execute_typed(
            "INSERT INTO drivers (user_id, is_active, is_on_duty) VALUES ($1, true, false) ON CONFLICT (user_id) DO NOTHING",
            &[p(&user_id)],
        )
        .await?;
    }
    let changes = serde_json::json!({ "role": { "from": target.role, "to": body.role } });
    users::audit(
        &tx,
        user_id,
        "ROLE_CHANGE",
        caller.user_id,
        changes,
        reason.as_deref(),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = %user_id, from = %target.role, to = %body.role, by = %caller.user_id, "role changed");
    ok(&serde_json::json!({ "user": User::from_row(&row)? }))
}
