//! Deleting (refused while the account has live work), restoring, and the list of
//! deleted accounts. The soft deletion itself is staff's edit of an account
//! ([`crate::users::admin`]); these are the rules around it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::{
    auth::{rbac::may_manage, Caller, Permission, Role, UserStatus},
    db::{p, FromRow, GenericClient, RowExt, Transaction},
    drivers,
    error::{ApiError, ApiResult},
    input::{Cursor, Page, PageRequest},
    users::{audit, AuditAction, User, USER_COLUMNS},
    AppState,
};

/// Orders that still need their driver keep their client's account from being deleted.
const LIVE_ORDER: &str = "order_is_open(status) AND deleted_at IS NULL";

/// What keeps an account from being deleted: its unfinished orders, and (a driver's) its
/// open deliveries.
async fn live_work(client: &impl GenericClient, user_id: Uuid) -> ApiResult<(i64, i64)> {
    let sql = format!(
        "SELECT (SELECT count(*) FROM orders WHERE user_id = $1 AND {LIVE_ORDER}) AS orders,
                (SELECT count(*) FROM drivers d WHERE d.user_id = $1
                    AND {} > 0) AS deliveries",
        drivers::roster::active_deliveries("d")
    );
    let row = client.query_typed_one(&sql, &[p(&user_id)]).await?;
    let deliveries: i64 = row.col("deliveries")?;
    Ok((row.col("orders")?, deliveries))
}

/// Refuses the deletion of an account with live work (409) and of any SUPER_ADMIN.
pub(in crate::users) async fn check_deletable(
    client: &impl GenericClient,
    user_id: Uuid,
    role: Role,
) -> ApiResult<()> {
    if role == Role::SuperAdmin {
        return Err(ApiError::forbidden(
            "a SUPER_ADMIN account is never deleted",
        ));
    }
    let (orders, deliveries) = live_work(client, user_id).await?;
    if orders > 0 || deliveries > 0 {
        return Err(ApiError::conflict(
            "account_has_live_work",
            "the account has unfinished orders or deliveries; finish or reassign them first",
        )
        .with_details(json!({ "liveOrders": orders, "openDeliveries": deliveries })));
    }
    Ok(())
}

/// Locks a soft-deleted account; its role and whether it was purged.
pub(super) async fn lock_deleted(tx: &Transaction<'_>, user_id: Uuid) -> ApiResult<(Role, bool)> {
    let row = tx
        .query_typed_opt(
            "SELECT role, deleted_at IS NOT NULL AS deleted, purged_at IS NOT NULL AS purged
               FROM users WHERE id = $1 FOR UPDATE",
            &[p(&user_id)],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if !row.col::<bool>("deleted")? {
        return Err(ApiError::conflict(
            "not_deleted",
            "the account is not deleted",
        ));
    }
    Ok((row.col("role")?, row.col("purged")?))
}

/// Brings a soft-deleted account back as ACTIVE; audited. A purged one stays gone.
pub async fn restore(state: &AppState, caller: &Caller, user_id: Uuid) -> ApiResult<User> {
    caller.require(Permission::RestoreUsers)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let user = restore_in(&tx, caller, user_id).await?;
    tx.commit().await?;
    Ok(user)
}

/// [`restore`] inside the caller's transaction.
pub(crate) async fn restore_in(
    tx: &Transaction<'_>,
    caller: &Caller,
    user_id: Uuid,
) -> ApiResult<User> {
    let (role, purged) = lock_deleted(tx, user_id).await?;
    if !may_manage(caller.role, role) {
        return Err(ApiError::forbidden("you may not restore this account"));
    }
    if purged {
        return Err(ApiError::conflict(
            "purged",
            "the account was purged and cannot be restored",
        ));
    }
    let sql = format!(
        "UPDATE users SET status = 'ACTIVE', deleted_at = NULL, deleted_by = NULL, deletion_reason = NULL
          WHERE id = $1 RETURNING {USER_COLUMNS}"
    );
    let user = User::from_row(&tx.query_typed_one(&sql, &[p(&user_id)]).await?)?;
    tx.execute_typed(
        "UPDATE drivers SET is_active = true WHERE user_id = $1",
        &[p(&user_id)],
    )
    .await?;
    let changes = json!({ "status": { "from": UserStatus::Deleted, "to": UserStatus::Active } });
    audit(
        tx,
        user_id,
        AuditAction::Restore,
        caller.user_id,
        changes,
        None,
    )
    .await?;
    Ok(user)
}

/// A deleted account in the staff list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedUser {
    #[serde(flatten)]
    pub user: User,
    pub deleted_by: Option<Uuid>,
    pub deletion_reason: Option<String>,
    pub purged_at: Option<DateTime<Utc>>,
}

/// Deleted accounts, most recently deleted first, in cursor pages.
pub async fn list_deleted(
    client: &impl GenericClient,
    page: &PageRequest,
) -> ApiResult<Page<DeletedUser>> {
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    let sql = format!(
        "SELECT {USER_COLUMNS}, deleted_by, deletion_reason, purged_at FROM users
          WHERE deleted_at IS NOT NULL
            AND ($1::timestamptz IS NULL OR (deleted_at, id) < ($1, $2))
          ORDER BY deleted_at DESC, id DESC
          LIMIT $3"
    );
    let rows = client
        .query_typed(
            &sql,
            &[p(&after_time), p(&after_id), p(&page.fetch_limit())],
        )
        .await?;
    let users = rows
        .iter()
        .map(|row| {
            Ok(DeletedUser {
                user: User::from_row(row)?,
                deleted_by: row.col("deleted_by")?,
                deletion_reason: row.col("deletion_reason")?,
                purged_at: row.col("purged_at")?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(users, page, |u| Cursor {
        // Every listed account is deleted.
        at: u.user.deleted_at.unwrap_or(u.user.created_at),
        id: u.user.id,
    }))
}
