//! What staff see and decide: the list, one application with its documents and its
//! review history, and the review itself (an ADMIN's approval opens the DRIVER account).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{find, Application, ApplicationStatus, COLUMNS, NOTES_MAX};
use crate::{
    audit::{self, Entity},
    auth::{rbac::Caller, Permission, Role},
    db::{p, FromRow, Transaction},
    error::{ApiError, ApiResult, Context, FieldError},
    input::{Cursor, Lines, Page, PageRequest, Validator},
    users::{
        lifecycle::{open_account, CheckedAccount, CreatedAccount},
        Profile,
    },
    AppState,
};

/// Staff's filter of the list.
#[derive(Debug, Clone, Default)]
pub struct ApplicationFilters {
    pub status: Option<ApplicationStatus>,
}

impl ApplicationFilters {
    pub fn parse(status: Option<&str>) -> ApiResult<Self> {
        let status = status
            .map(|s| {
                s.to_ascii_uppercase()
                    .parse::<ApplicationStatus>()
                    .map_err(|e| ApiError::validation(vec![FieldError::new("status", e)]))
            })
            .transpose()?;
        Ok(Self { status })
    }
}

/// Applications, newest first, in cursor pages.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filters: &ApplicationFilters,
    page: &PageRequest,
) -> ApiResult<Page<Application>> {
    caller.require(Permission::ReviewApplications)?;
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    let sql = format!(
        "SELECT {COLUMNS} FROM job_applications
          WHERE ($1::text IS NULL OR status = $1)
            AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
          ORDER BY created_at DESC, id DESC
          LIMIT $4"
    );
    let client = state.db.get().await?;
    let rows = client
        .query_typed(
            &sql,
            &[
                p(&filters.status),
                p(&after_time),
                p(&after_id),
                p(&page.fetch_limit()),
            ],
        )
        .await
        .context("listing job applications")?;
    let items = rows
        .iter()
        .map(Application::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |a| Cursor {
        at: a.created_at,
        id: a.id,
    }))
}

/// One application's document, as staff see it (downloaded through the file routes).
#[derive(Debug, Clone, Serialize, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    pub id: Uuid,
    pub file_name: String,
    pub file_type: String,
    pub file_size: i64,
    pub category: Option<String>,
    pub uploaded_at: DateTime<Utc>,
}

/// A review step, from the audit rows.
#[derive(Debug, Clone, Serialize, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ReviewEntry {
    pub action: String,
    pub performed_by: Option<Uuid>,
    pub changes: Value,
    pub created_at: DateTime<Utc>,
}

/// An application with its completed documents and its review history.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDetail {
    pub application: Application,
    pub documents: Vec<Document>,
    pub history: Vec<ReviewEntry>,
}

pub async fn detail(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<ApplicationDetail> {
    caller.require(Permission::ReviewApplications)?;
    let client = state.db.get().await?;
    let application = find(&*client, id, false).await?;
    let documents = client
        .query_typed(
            "SELECT id, file_name, file_type, file_size, category, uploaded_at FROM file_uploads
              WHERE entity_type = 'job_application' AND entity_id = $1
                AND status = 'ACTIVE' AND deleted_at IS NULL
              ORDER BY uploaded_at, id",
            &[p(&id)],
        )
        .await
        .context("listing the application's documents")?
        .iter()
        .map(Document::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    let history = client
        .query_typed(
            "SELECT action, performed_by, changes, created_at FROM staff_audits
              WHERE entity_type = $1 AND entity_id = $2 ORDER BY created_at, id",
            &[p(&Entity::JobApplication), p(&id)],
        )
        .await
        .context("reading the application's review")?
        .iter()
        .map(ReviewEntry::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(ApplicationDetail {
        application,
        documents,
        history,
    })
}

/// `PATCH /api/admin/job-applications/{id}` as staff send it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Review {
    pub status: Option<ApplicationStatus>,
    pub notes: Option<String>,
}

/// A review's result; an approval's new account and its set-password link, shown once.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reviewed {
    pub application: Application,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<CreatedAccount>,
}

fn check_review(review: &Review, current: ApplicationStatus) -> ApiResult<Option<String>> {
    Validator::validate(|v| {
        v.check(
            review.status.is_some() || review.notes.is_some(),
            "status",
            "send a status, notes or both",
        );
        if let Some(next) = review.status {
            if next != current && !current.may_become(next) {
                v.push(FieldError::new(
                    "status",
                    format!("an application {current} cannot become {next}"),
                ));
            }
        }
        let notes = v.optional_text("notes", review.notes.as_deref(), NOTES_MAX, Lines::Many);
        Some(notes)
    })
}

/// Moves an application on and/or records notes; an approval opens the driver account.
pub async fn review(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    review: &Review,
) -> ApiResult<Reviewed> {
    caller.require(Permission::ReviewApplications)?;
    let approving = review.status == Some(ApplicationStatus::Approved);
    if approving {
        // Approval opens an account: the right to create accounts, not only to review.
        caller.require(Permission::CreateUsers)?;
    }
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let before = find(&tx, id, true).await?;
    let notes = check_review(review, before.status)?;
    let status = review.status.unwrap_or(before.status);
    let account = if approving && before.status != ApplicationStatus::Approved {
        Some(open_driver_account(&tx, caller, &before).await?)
    } else {
        None
    };
    let row = tx
        .query_typed_one(
            &format!(
                "UPDATE job_applications
                    SET status = $2, notes = COALESCE($3, notes), user_id = COALESCE($4, user_id),
                        reviewed_by = $5, reviewed_at = now(), updated_at = now()
                  WHERE id = $1
                  RETURNING {COLUMNS}"
            ),
            &[
                p(&id),
                p(&status),
                p(&notes),
                p(&account.as_ref().map(|a| a.user.id)),
                p(&caller.user_id),
            ],
        )
        .await
        .context("recording the review")?;
    let after = Application::from_row(&row)?;
    let action = if status != before.status {
        "STATUS_CHANGE"
    } else {
        "NOTES"
    };
    audit::record(
        &tx,
        Entity::JobApplication,
        id,
        action,
        caller.user_id,
        audit::diff(&before.reviewed_fields(), &after.reviewed_fields()),
        None,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(application_id = %id, status = %status, by = %caller.user_id, "job application reviewed");
    Ok(Reviewed {
        application: after,
        account,
    })
}

async fn open_driver_account(
    tx: &Transaction<'_>,
    caller: &Caller,
    application: &Application,
) -> ApiResult<CreatedAccount> {
    let account = CheckedAccount {
        email: application.email.clone(),
        role: Role::Driver,
        name: format!("{} {}", application.first_name, application.last_name),
        profile: Profile {
            phone: Some(application.phone.clone()),
            ..Profile::default()
        },
    };
    let created = open_account(tx, caller.user_id, &account).await?;
    if let Some(vehicle) = application.vehicle_type {
        tx.execute_typed(
            "UPDATE drivers SET vehicle_type = $2 WHERE user_id = $1",
            &[p(&created.user.id), p(&vehicle)],
        )
        .await
        .context("recording the driver's vehicle")?;
    }
    Ok(created)
}
