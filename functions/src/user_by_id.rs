//! `GET | PATCH | DELETE /api/users/{userId}`: one account.
//!
//! Anyone reads and edits their own profile; staff read and edit others within their rank
//! (see `rbac::may_manage`); ADMIN and SUPER_ADMIN soft-delete. An account the caller may
//! not see answers 404, exactly like one that does not exist.

use lambda_http::{http::Method, Body, Request, Response};
use serde::Deserialize;
use shared::{
    auth::{caller, rbac::may_manage, Caller, Permission, Role, UserStatus},
    db::p,
    http::{no_content, ok},
    input::{bounded_text, parse_json, path_uuid, query_param, Validator},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::{self, User, USER_COLUMNS},
    ApiError, ApiResult, AppState,
};
use uuid::Uuid;

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(user_by_id(state, req))
}

async fn user_by_id(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::OwnAccount)?;
    let user_id = path_uuid(&req, "userId")?;
    match *req.method() {
        Method::GET => get_user(state, &caller, user_id).await,
        Method::PATCH => update_user(state, &caller, user_id, &req).await,
        Method::DELETE => delete_user(state, &caller, user_id, &req).await,
        _ => Err(ApiError::new(
            lambda_http::http::StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "use GET, PATCH or DELETE",
        )),
    }
}

/// The visibility rule, in SQL: one's own row, or any row with the permission.
const VISIBLE: &str = "id = $1 AND deleted_at IS NULL AND ($2 OR id = $3)";

async fn get_user(state: &AppState, caller: &Caller, user_id: Uuid) -> ApiResult<Response<Body>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {VISIBLE}");
    let client = state.db.get().await?;
    let row = client
        .query_typed_opt(
            &sql,
            &[
                p(&user_id),
                p(&caller.can(Permission::ViewUsers)),
                p(&caller.user_id),
            ],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    ok(&serde_json::json!({ "user": User::from_row(&row)? }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UserUpdate {
    name: Option<String>,
    contact_name: Option<String>,
    company_name: Option<String>,
    phone: Option<String>,
    website: Option<String>,
    /// Staff only: ACTIVE or PENDING (deleting is DELETE).
    status: Option<UserStatus>,
}

async fn update_user(
    state: &AppState,
    caller: &Caller,
    user_id: Uuid,
    req: &Request,
) -> ApiResult<Response<Body>> {
    let update: UserUpdate = parse_json(req)?;
    let mut v = Validator::new();
    let mut text = |field: &str, value: &Option<String>, max: usize| {
        value
            .as_deref()
            .and_then(|value| v.take(bounded_text(field, value, 1, max, false)))
    };
    let name = text("name", &update.name, 120);
    let contact_name = text("contactName", &update.contact_name, 120);
    let company_name = text("companyName", &update.company_name, 200);
    let phone = text("phone", &update.phone, 32);
    let website = text("website", &update.website, 300);
    v.check(
        update.status != Some(UserStatus::Deleted),
        "status",
        "use DELETE to delete an account",
    );
    v.finish()?;

    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let target = lock_visible(&tx, caller, user_id, Permission::UpdateUsers).await?;
    let editing_other = target.id != caller.user_id;
    if editing_other && !may_manage(caller.role, target.role) {
        return Err(ApiError::forbidden("you may not edit this account"));
    }
    if update.status.is_some() && !editing_other {
        return Err(ApiError::forbidden("you may not change your own status"));
    }
    let status = update.status.map(UserStatus::as_str);
    let sql = format!(
        "UPDATE users SET
            name = COALESCE($2, name),
            contact_name = COALESCE($3, contact_name),
            company_name = COALESCE($4, company_name),
            phone = COALESCE($5, phone),
            website = COALESCE($6, website),
            status = COALESCE($7, status)
         WHERE id = $1
         RETURNING {USER_COLUMNS}"
    );
    let row = tx
        .query_typed_one(
            &sql,
            &[
                p(&user_id),
                p(&name),
                p(&contact_name),
                p(&company_name),
                p(&phone),
                p(&website),
                p(&status),
            ],
        )
        .await?;
    let user = User::from_row(&row)?;
    if editing_other {
        let changes = serde_json::json!({
            "name": name, "contactName": contact_name, "companyName": company_name,
            "phone": phone, "website": website, "status": status,
        });
        users::audit(&tx, user_id, "UPDATE", caller.user_id, changes, None).await?;
    }
    tx.commit().await?;
    ok(&serde_json::json!({ "user": user }))
}

async fn delete_user(
    state: &AppState,
    caller: &Caller,
    user_id: Uuid,
    req: &Request,
) -> ApiResult<Response<Body>> {
    caller.require(Permission::DeleteUsers)?;
    if user_id == caller.user_id {
        return Err(ApiError::forbidden(
            "you may not delete your own account here",
        ));
    }
    let reason = query_param(req, "reason")
        .map(|r| {
            bounded_text("reason", r, 1, 500, false).map_err(|e| ApiError::validation(vec![e]))
        })
        .transpose()?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let target = lock_visible(&tx, caller, user_id, Permission::DeleteUsers).await?;
    if !may_manage(caller.role, target.role) {
        return Err(ApiError::forbidden("you may not delete this account"));
    }
    tx.execute_typed(
        "UPDATE users SET status = 'DELETED', deleted_at = now(), deleted_by = $2, deletion_reason = $3 WHERE id = $1",
        &[p(&user_id), p(&caller.user_id), p(&reason)],
    )
    .await?;
    users::audit(
        &tx,
        user_id,
        "DELETE",
        caller.user_id,
        serde_json::json!({ "status": "DELETED" }),
        reason.as_deref(),
    )
    .await?;
    tx.commit().await?;
    Ok(no_content())
}

pub(crate) struct Target {
    pub id: Uuid,
    pub role: Role,
}

/// Locks the row of an account the caller may see with `permission` (or their own).
pub(crate) async fn lock_visible(
    tx: &shared::db::Transaction<'_>,
    caller: &Caller,
    user_id: Uuid,
    permission: Permission,
) -> ApiResult<Target> {
    let sql = format!("SELECT id, role FROM users WHERE {VISIBLE} FOR UPDATE");
    let row = tx
        .query_typed_opt(
            &sql,
            &[p(&user_id), p(&caller.can(permission)), p(&caller.user_id)],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let role: String = row.get(1);
    Ok(Target {
        id: row.get(0),
        role: role.parse().map_err(ApiError::internal)?,
    })
}
