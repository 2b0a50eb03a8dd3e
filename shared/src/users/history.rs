//! An account's audit history: who changed what on it, when, why, with the values before
//! and after; filtered, in cursor pages, or as CSV.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::AuditAction;
use crate::{
    auth::{Caller, Permission},
    db::{p, FromRow, GenericClient},
    error::{ApiError, ApiResult, FieldError},
    input::{parse_uuid, Cursor, Page, PageRequest},
};

/// The most rows one CSV export holds (a Lambda answer is at most 6 MB); the answer says
/// when there were more.
pub const EXPORT_MAX_ROWS: i64 = 10_000;

/// One audit row as clients see it.
#[derive(Debug, Clone, Serialize, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: i64,
    pub action: String,
    pub performed_by: Option<Uuid>,
    pub performed_by_email: Option<String>,
    pub changes: serde_json::Value,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// `?action=&performedBy=&from=&to=`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilters {
    pub action: Option<AuditAction>,
    pub performed_by: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl AuditFilters {
    /// Reads `?action=&performedBy=&from=&to=`.
    pub fn from_query(query: &crate::input::Query) -> ApiResult<Self> {
        Self::parse(
            query.get("action"),
            query.get("performedBy"),
            query.get("from"),
            query.get("to"),
        )
    }

    pub fn parse(
        action: Option<&str>,
        performed_by: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> ApiResult<Self> {
        let field = |name: &str, e: String| ApiError::validation(vec![FieldError::new(name, e)]);
        let time = |name: &str, raw: Option<&str>| {
            raw.map(|t| {
                DateTime::parse_from_rfc3339(t)
                    .map(|t| t.to_utc())
                    .map_err(|_| field(name, "must be an RFC 3339 time".into()))
            })
            .transpose()
        };
        let filters = Self {
            action: action
                .map(|a| a.parse().map_err(|e| field("action", e)))
                .transpose()?,
            performed_by: performed_by
                .map(|u| parse_uuid("performedBy", u))
                .transpose()?,
            from: time("from", from)?,
            to: time("to", to)?,
        };
        if let (Some(from), Some(to)) = (filters.from, filters.to) {
            if from > to {
                return Err(field("from", "must not be after to".into()));
            }
        }
        Ok(filters)
    }
}

/// Audit ids are integers.
fn cursor_of(entry: &AuditEntry) -> Cursor {
    Cursor::of_serial(entry.created_at, entry.id)
}

const SELECT: &str = "SELECT a.id, a.action, a.performed_by, pu.email AS performed_by_email,
                             a.changes, a.reason, a.created_at
                        FROM user_audits a LEFT JOIN users pu ON pu.id = a.performed_by
                       WHERE a.user_id = $1
                         AND ($2::text IS NULL OR a.action = $2)
                         AND ($3::uuid IS NULL OR a.performed_by = $3)
                         AND ($4::timestamptz IS NULL OR a.created_at >= $4)
                         AND ($5::timestamptz IS NULL OR a.created_at < $5)";

fn entry(row: &tokio_postgres::Row) -> ApiResult<AuditEntry> {
    AuditEntry::from_row(row)
}

/// 404 unless the account exists (deleted and purged ones keep their history).
async fn require_account(client: &impl GenericClient, user_id: Uuid) -> ApiResult<()> {
    client
        .query_typed_opt("SELECT 1 FROM users WHERE id = $1", &[p(&user_id)])
        .await?
        .map(|_| ())
        .ok_or_else(|| ApiError::not_found("user"))
}

/// One page of an account's history, newest first (staff).
pub async fn list(
    client: &impl GenericClient,
    caller: &Caller,
    user_id: Uuid,
    filters: &AuditFilters,
    page: &PageRequest,
) -> ApiResult<Page<AuditEntry>> {
    caller.require(Permission::ViewAudits)?;
    require_account(client, user_id).await?;
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.serial())).unzip();
    let sql = format!(
        "{SELECT} AND ($6::timestamptz IS NULL OR (a.created_at, a.id) < ($6, $7))
         ORDER BY a.created_at DESC, a.id DESC LIMIT $8"
    );
    let rows = client
        .query_typed(
            &sql,
            &[
                p(&user_id),
                p(&filters.action),
                p(&filters.performed_by),
                p(&filters.from),
                p(&filters.to),
                p(&after_time),
                p(&after_id),
                p(&page.fetch_limit()),
            ],
        )
        .await?;
    let entries = rows.iter().map(entry).collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(entries, page, cursor_of))
}

/// An account's history as CSV, newest first, up to [`EXPORT_MAX_ROWS`]; and whether
/// there was more.
pub async fn export_csv(
    client: &impl GenericClient,
    caller: &Caller,
    user_id: Uuid,
    filters: &AuditFilters,
) -> ApiResult<(Vec<u8>, bool)> {
    caller.require(Permission::ViewAudits)?;
    require_account(client, user_id).await?;
    let sql = format!("{SELECT} ORDER BY a.created_at DESC, a.id DESC LIMIT $6");
    let rows = client
        .query_typed(
            &sql,
            &[
                p(&user_id),
                p(&filters.action),
                p(&filters.performed_by),
                p(&filters.from),
                p(&filters.to),
                p(&(EXPORT_MAX_ROWS + 1)),
            ],
        )
        .await?;
    let truncated = rows.len() as i64 > EXPORT_MAX_ROWS;
    let mut out = crate::export::Csv::new(&[
        "id",
        "createdAt",
        "action",
        "performedBy",
        "performedByEmail",
        "reason",
        "changes",
    ])?;
    for row in rows.iter().take(EXPORT_MAX_ROWS as usize) {
        let e = entry(row)?;
        out.row([
            e.id.to_string(),
            e.created_at.to_rfc3339(),
            e.action,
            e.performed_by.map(|u| u.to_string()).unwrap_or_default(),
            e.performed_by_email.unwrap_or_default(),
            e.reason.unwrap_or_default(),
            e.changes.to_string(),
        ])?;
    }
    tracing::info!(by = %caller.user_id, user_id = %user_id, truncated, "audit history exported");
    Ok((out.finish()?, truncated))
}
