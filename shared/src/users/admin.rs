//! What staff (and account owners, for their own) do with accounts: list, read, edit,
//! suspend, delete and change roles. Which accounts a caller reaches is decided in SQL
//! (another's account is a 404, exactly like a missing one); whom a staff member may
//! manage is `rbac::may_manage` and `rbac::may_change_role`; every change to another's
//! account is audited in the same transaction.

use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{audit, profile, AuditAction, ProfileInput, User, USER_COLUMNS};
use crate::{
    auth::{
        rbac::{may_change_role, may_manage},
        Caller, Permission, Role, UserStatus,
    },
    db::{p, FromRow, GenericClient, RowExt, Transaction},
    drivers,
    error::{ApiError, ApiResult, FieldError},
    input::{bounded_text, escape_like, Cursor, Lines, Page, PageRequest, Validator},
    AppState,
};

/// The visibility rule, in SQL: one's own row, or any row with the permission.
const VISIBLE: &str = "id = $1 AND deleted_at IS NULL AND ($2 OR id = $3)";

/// An account the caller may see, by id.
pub async fn find_visible(
    client: &impl GenericClient,
    caller: &Caller,
    user_id: Uuid,
) -> ApiResult<User> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {VISIBLE}");
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
    User::from_row(&row)
}

/// Locks an account the caller may see with `permission` (or their own); returns its role.
async fn lock_visible(
    tx: &Transaction<'_>,
    caller: &Caller,
    user_id: Uuid,
    permission: Permission,
) -> ApiResult<Role> {
    let sql = format!("SELECT role FROM users WHERE {VISIBLE} FOR UPDATE");
    tx.query_typed_opt(
        &sql,
        &[p(&user_id), p(&caller.can(permission)), p(&caller.user_id)],
    )
    .await?
    .ok_or_else(|| ApiError::not_found("user"))?
    .col("role")
}

/// The fields a profile edit may change; absent ones stay.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileUpdate {
    pub name: Option<String>,
    pub contact_name: Option<String>,
    pub company_name: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    /// Staff only: ACTIVE or PENDING (deleting is DELETE).
    pub status: Option<UserStatus>,
}

/// Edits an account: anyone their own profile (but not their own status), staff others
/// within their rank; audited when it is another's.
pub async fn update_profile(
    state: &AppState,
    caller: &Caller,
    user_id: Uuid,
    edit: &ProfileUpdate,
) -> ApiResult<User> {
    let checked = Validator::validate(|v| {
        v.check(
            edit.status != Some(UserStatus::Deleted),
            "status",
            "use DELETE to delete an account",
        );
        Some(profile(
            v,
            ProfileInput {
                name: edit.name.as_deref(),
                contact_name: edit.contact_name.as_deref(),
                company_name: edit.company_name.as_deref(),
                phone: edit.phone.as_deref(),
                website: edit.website.as_deref(),
            },
        ))
    })?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let target_role = lock_visible(&tx, caller, user_id, Permission::UpdateUsers).await?;
    let editing_other = user_id != caller.user_id;
    if editing_other && !may_manage(caller.role, target_role) {
        return Err(ApiError::forbidden("you may not edit this account"));
    }
    if edit.status.is_some() && !editing_other {
        return Err(ApiError::forbidden("you may not change your own status"));
    }
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
                p(&checked.name),
                p(&checked.contact_name),
                p(&checked.company_name),
                p(&checked.phone),
                p(&checked.website),
                p(&edit.status),
            ],
        )
        .await?;
    let user = User::from_row(&row)?;
    if editing_other {
        let changes = json!({
            "name": checked.name, "contactName": checked.contact_name, "companyName": checked.company_name,
            "phone": checked.phone, "website": checked.website, "status": edit.status,
        });
        audit(
            &tx,
            user_id,
            AuditAction::Update,
            caller.user_id,
            changes,
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(user)
}

/// Soft-deletes another account within the caller's rank, with an audit row.
pub async fn soft_delete(
    state: &AppState,
    caller: &Caller,
    user_id: Uuid,
    reason: Option<&str>,
) -> ApiResult<()> {
    caller.require(Permission::DeleteUsers)?;
    let reason = reason
        .map(|r| bounded_text("reason", r, 1, 500, Lines::One))
        .transpose()
        .map_err(|e| ApiError::validation(vec![e]))?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    soft_delete_in(&tx, caller, user_id, reason.as_deref()).await?;
    tx.commit().await?;
    Ok(())
}

/// [`soft_delete`] inside the caller's transaction (the bulk routes run one per item).
pub(crate) async fn soft_delete_in(
    tx: &Transaction<'_>,
    caller: &Caller,
    user_id: Uuid,
    reason: Option<&str>,
) -> ApiResult<()> {
    if user_id == caller.user_id {
        return Err(ApiError::forbidden(
            "you may not delete your own account here",
        ));
    }
    let target_role = lock_visible(tx, caller, user_id, Permission::DeleteUsers).await?;
    if !may_manage(caller.role, target_role) {
        return Err(ApiError::forbidden("you may not delete this account"));
    }
    super::lifecycle::check_deletable(tx, user_id, target_role).await?;
    tx.execute_typed(
        "UPDATE users SET status = 'DELETED', deleted_at = now(), deleted_by = $2, deletion_reason = $3 WHERE id = $1",
        &[p(&user_id), p(&caller.user_id), p(&reason)],
    )
    .await?;
    // A deleted driver takes no more work: off duty, out of the nearest-driver search.
    tx.execute_typed(
        "UPDATE drivers SET is_active = false, is_on_duty = false WHERE user_id = $1",
        &[p(&user_id)],
    )
    .await?;
    audit(
        tx,
        user_id,
        AuditAction::Delete,
        caller.user_id,
        json!({ "status": UserStatus::Deleted }),
        reason,
    )
    .await
}

/// Sets another account's status to ACTIVE or PENDING within the caller's rank (the bulk
/// status route; one account's status is also part of its PATCH).
pub(crate) async fn set_status_in(
    tx: &Transaction<'_>,
    caller: &Caller,
    user_id: Uuid,
    status: UserStatus,
) -> ApiResult<()> {
    if status == UserStatus::Deleted {
        return Err(ApiError::bad_request(
            "invalid_status",
            "use the delete route to delete accounts",
        ));
    }
    if user_id == caller.user_id {
        return Err(ApiError::forbidden("you may not change your own status"));
    }
    let target_role = lock_visible(tx, caller, user_id, Permission::UpdateUsers).await?;
    if !may_manage(caller.role, target_role) {
        return Err(ApiError::forbidden("you may not edit this account"));
    }
    let from: UserStatus = tx
        .query_typed_one("SELECT status FROM users WHERE id = $1", &[p(&user_id)])
        .await?
        .col("status")?;
    tx.execute_typed(
        "UPDATE users SET status = $2 WHERE id = $1",
        &[p(&user_id), p(&status)],
    )
    .await?;
    audit(
        tx,
        user_id,
        AuditAction::Update,
        caller.user_id,
        json!({ "status": { "from": from, "to": status } }),
        None,
    )
    .await
}

/// A role change as clients send it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    #[serde(alias = "newRole", alias = "type")]
    pub role: Role,
    pub reason: Option<String>,
}

/// Changes another account's role (only a SUPER_ADMIN grants or removes staff roles),
/// enrolling new drivers, with an audit row.
pub async fn change_role(
    state: &AppState,
    caller: &Caller,
    user_id: Uuid,
    change: &RoleChange,
) -> ApiResult<User> {
    caller.require(Permission::ChangeRoles)?;
    let reason = Validator::validate(|v| {
        Some(v.optional_text("reason", change.reason.as_deref(), 500, Lines::One))
    })?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let user = change_role_in(&tx, caller, user_id, change.role, reason.as_deref()).await?;
    tx.commit().await?;
    Ok(user)
}

/// [`change_role`] inside the caller's transaction.
pub(crate) async fn change_role_in(
    tx: &Transaction<'_>,
    caller: &Caller,
    user_id: Uuid,
    role: Role,
    reason: Option<&str>,
) -> ApiResult<User> {
    if user_id == caller.user_id {
        return Err(ApiError::forbidden("you may not change your own role"));
    }
    let from = lock_visible(tx, caller, user_id, Permission::ChangeRoles).await?;
    if !may_change_role(caller.role, from, role) {
        return Err(ApiError::forbidden(format!(
            "you may not change a {from} account to {role}"
        )));
    }
    let sql = format!("UPDATE users SET role = $2 WHERE id = $1 RETURNING {USER_COLUMNS}");
    let row = tx.query_typed_one(&sql, &[p(&user_id), p(&role)]).await?;
    let user = User::from_row(&row)?;
    if role == Role::Driver {
        drivers::enrol(tx, user_id, user.phone.as_deref()).await?;
    }
    let changes = json!({ "role": { "from": from, "to": role } });
    audit(
        tx,
        user_id,
        AuditAction::RoleChange,
        caller.user_id,
        changes,
        reason,
    )
    .await?;
    tracing::info!(user_id = %user_id, from = %from, to = %role, by = %caller.user_id, "role changed");
    Ok(user)
}

/// Which accounts the admin list shows.
#[derive(Debug, Clone, Default)]
pub struct UserFilters {
    pub role: Option<Role>,
    /// `DELETED` lists soft-deleted accounts, which are hidden otherwise.
    pub status: Option<UserStatus>,
    pub search: Option<String>,
}

impl UserFilters {
    /// Reads `?role=&status=&search=`, rejecting malformed values.
    pub fn parse(
        role: Option<&str>,
        status: Option<&str>,
        search: Option<&str>,
    ) -> ApiResult<Self> {
        let field = |name: &str, e: String| ApiError::validation(vec![FieldError::new(name, e)]);
        Ok(Self {
            role: role
                .map(|r| r.parse().map_err(|e| field("role", e)))
                .transpose()?,
            status: status
                .map(|s| s.parse().map_err(|e| field("status", e)))
                .transpose()?,
            search: search
                .map(|s| bounded_text("search", s, 1, 100, Lines::One))
                .transpose()
                .map_err(|e| ApiError::validation(vec![e]))?,
        })
    }
}

/// The list's filters in SQL: `$1` role, `$2` status, `$3` the search pattern (also the
/// CSV export's).
pub(crate) const FILTERED: &str = "($1::text IS NULL OR role = $1)
           AND ($2::text IS NULL OR status = $2)
           AND (deleted_at IS NULL OR $2 = 'DELETED')
           AND ($3::text IS NULL OR email ILIKE $3 OR name ILIKE $3 OR company_name ILIKE $3)";

/// One page of accounts, newest first.
#[tracing::instrument(name = "list_users", skip_all)]
pub async fn list(
    client: &impl GenericClient,
    filters: &UserFilters,
    page: &PageRequest,
) -> ApiResult<Page<User>> {
    let search = filters
        .search
        .as_ref()
        .map(|s| format!("%{}%", escape_like(s)));
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users
         WHERE {FILTERED}
           AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5))
         ORDER BY created_at DESC, id DESC
         LIMIT $6"
    );
    let rows = client
        .query_typed(
            &sql,
            &[
                p(&filters.role),
                p(&filters.status),
                p(&search),
                p(&after_time),
                p(&after_id),
                p(&page.fetch_limit()),
            ],
        )
        .await?;
    let users = rows
        .iter()
        .map(User::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(users, page, |u| Cursor {
        at: u.created_at,
        id: u.id,
    }))
}
