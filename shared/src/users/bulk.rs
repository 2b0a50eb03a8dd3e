//! Bulk account actions (`POST /api/users/bulk/{status|role|delete|restore}`) and the
//! filtered list as CSV.
//!
//! A batch is one transaction; each account in it is judged by the rules of the single
//! route (the same functions, run inside a savepoint), so an account that may not be
//! changed fails alone, with its reason, and the others are changed, each with its own
//! audit row.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{admin, lifecycle, User, USER_COLUMNS};
use crate::{
    auth::{Caller, Permission, Role, UserStatus},
    db::{p, FromRow, GenericClient, Transaction},
    error::{ApiError, ApiResult},
    input::{escape_like, Lines},
    AppState,
};

/// The most accounts one batch takes.
pub const MAX_BATCH: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    Status,
    Role,
    Delete,
    Restore,
}

impl BulkAction {
    /// The action a bulk route's path ends with (`/api/users/bulk/role`).
    pub fn of_path(path: &str) -> ApiResult<Self> {
        match path.trim_end_matches('/').rsplit('/').next() {
            Some("status") => Ok(BulkAction::Status),
            Some("role") => Ok(BulkAction::Role),
            Some("delete") => Ok(BulkAction::Delete),
            Some("restore") => Ok(BulkAction::Restore),
            _ => Err(ApiError::not_found("bulk action")),
        }
    }

    fn permission(self) -> Permission {
        match self {
            BulkAction::Status => Permission::UpdateUsers,
            BulkAction::Role => Permission::ChangeRoles,
            BulkAction::Delete => Permission::DeleteUsers,
            BulkAction::Restore => Permission::RestoreUsers,
        }
    }
}

/// A batch as clients send it: the ids and what the action needs (`status` for status,
/// `role` for role; `reason` is recorded for roles and deletions).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkRequest {
    pub user_ids: Vec<String>,
    pub status: Option<UserStatus>,
    #[serde(alias = "newRole")]
    pub role: Option<Role>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Failed {
    pub id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BulkResults {
    pub success: Vec<Uuid>,
    pub failed: Vec<Failed>,
    pub total_success: usize,
    pub total_failed: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct BulkOutcome {
    pub results: BulkResults,
}

/// Runs one batch in one transaction: each listed account is changed or fails alone.
pub async fn run(
    state: &AppState,
    caller: &Caller,
    action: BulkAction,
    body: &BulkRequest,
) -> ApiResult<BulkOutcome> {
    caller.require(action.permission())?;
    let reason = check_batch(action, body)?;
    let mut client = state.db.get().await?;
    let mut tx = client.transaction().await?;
    let mut results = BulkResults::default();
    let mut seen = HashSet::new();
    for raw in &body.user_ids {
        let fail = |reason: String| Failed {
            id: raw.clone(),
            reason,
        };
        let user_id = match listed_account(raw, &mut seen) {
            Ok(user_id) => user_id,
            Err(reason) => {
                results.failed.push(fail(reason.to_owned()));
                continue;
            }
        };
        let change = Change {
            caller,
            action,
            body,
            user_id,
            reason: reason.as_deref(),
        };
        match apply_in_savepoint(&mut tx, &change).await? {
            ItemOutcome::Changed => results.success.push(user_id),
            ItemOutcome::Refused(reason) => results.failed.push(fail(reason)),
        }
    }
    tx.commit().await?;
    results.total_success = results.success.len();
    results.total_failed = results.failed.len();
    tracing::info!(
        action = ?action,
        by = %caller.user_id,
        changed = results.total_success,
        failed = results.total_failed,
        "bulk account action"
    );
    Ok(BulkOutcome { results })
}

/// Checks the batch as a whole (its size, what the action needs) and returns its reason.
fn check_batch(action: BulkAction, body: &BulkRequest) -> ApiResult<Option<String>> {
    crate::input::Validator::validate(|v| {
        v.check(
            !body.user_ids.is_empty(),
            "userIds",
            "must list at least one account",
        );
        v.check(
            body.user_ids.len() <= MAX_BATCH,
            "userIds",
            "must list at most 100 accounts",
        );
        v.check(
            action != BulkAction::Status || body.status.is_some(),
            "status",
            "is required",
        );
        v.check(
            action != BulkAction::Role || body.role.is_some(),
            "role",
            "is required",
        );
        Some(v.optional_text("reason", body.reason.as_deref(), 500, Lines::One))
    })
}

/// The account a listed id names, or why that entry fails: not an id, or an account
/// listed before (each account is judged once per batch).
fn listed_account(raw: &str, seen: &mut HashSet<Uuid>) -> Result<Uuid, &'static str> {
    let user_id = crate::input::parse_uuid("userIds", raw).map_err(|_| "not an account id")?;
    if !seen.insert(user_id) {
        return Err("listed more than once");
    }
    Ok(user_id)
}

/// One account's change within a batch.
struct Change<'a> {
    caller: &'a Caller,
    action: BulkAction,
    body: &'a BulkRequest,
    user_id: Uuid,
    reason: Option<&'a str>,
}

/// What became of one account of a batch.
enum ItemOutcome {
    Changed,
    /// The single route's refusal, as its message.
    Refused(String),
}

/// Applies the change inside a savepoint: kept when the account's rules allow it, undone
/// alone when they refuse it. A failure of the database is the batch's, not the
/// account's: it ends the batch.
async fn apply_in_savepoint(
    tx: &mut Transaction<'_>,
    change: &Change<'_>,
) -> ApiResult<ItemOutcome> {
    let item = tx.savepoint("bulk_item").await?;
    match apply(&item, change).await {
        Ok(()) => {
            item.commit().await?;
            Ok(ItemOutcome::Changed)
        }
        Err(e) if !e.is_server_error() => {
            item.rollback().await?;
            Ok(ItemOutcome::Refused(e.message.clone()))
        }
        Err(e) => Err(e),
    }
}

/// The single route's function for the action, on one account.
async fn apply(item: &Transaction<'_>, change: &Change<'_>) -> ApiResult<()> {
    let Change {
        caller,
        user_id,
        reason,
        body,
        ..
    } = *change;
    match change.action {
        BulkAction::Status => {
            let status = body.status.unwrap_or(UserStatus::Active);
            admin::set_status_in(item, caller, user_id, status).await
        }
        BulkAction::Role => {
            let role = body.role.unwrap_or(Role::Client);
            admin::change_role_in(item, caller, user_id, role, reason)
                .await
                .map(|_| ())
        }
        BulkAction::Delete => admin::soft_delete_in(item, caller, user_id, reason).await,
        BulkAction::Restore => lifecycle::restore_in(item, caller, user_id)
            .await
            .map(|_| ()),
    }
}

/// The filtered user list as CSV (staff), newest first, at most
/// [`super::history::EXPORT_MAX_ROWS`]; and whether there were more.
pub async fn export_csv(
    client: &impl GenericClient,
    caller: &Caller,
    filters: &admin::UserFilters,
) -> ApiResult<(Vec<u8>, bool)> {
    caller.require(Permission::ListUsers)?;
    let max = super::history::EXPORT_MAX_ROWS;
    let search = filters
        .search
        .as_ref()
        .map(|s| format!("%{}%", escape_like(s)));
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE {} ORDER BY created_at DESC, id DESC LIMIT $4",
        admin::FILTERED
    );
    let rows = client
        .query_typed(
            &sql,
            &[
                p(&filters.role),
                p(&filters.status),
                p(&search),
                p(&(max + 1)),
            ],
        )
        .await?;
    let truncated = rows.len() as i64 > max;
    let mut csv = crate::export::Csv::new(&[
        "id",
        "email",
        "type",
        "status",
        "name",
        "contactName",
        "companyName",
        "phone",
        "website",
        "createdAt",
        "deletedAt",
    ])?;
    for row in rows.iter().take(usize::try_from(max).unwrap_or(usize::MAX)) {
        let u = User::from_row(row)?;
        csv.row([
            u.id.to_string(),
            u.email,
            u.role.to_string(),
            u.status.to_string(),
            u.name.unwrap_or_default(),
            u.contact_name.unwrap_or_default(),
            u.company_name.unwrap_or_default(),
            u.phone.unwrap_or_default(),
            u.website.unwrap_or_default(),
            u.created_at.to_rfc3339(),
            u.deleted_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ])?;
    }
    // Up to 10 000 accounts' personal data leave the system here: the log says who took it.
    tracing::info!(by = %caller.user_id, rows = rows.len().min(usize::try_from(max).unwrap_or(usize::MAX)), truncated, "user list exported");
    Ok((csv.finish()?, truncated))
}
