//! Driver applications (the original's job applications).
//!
//! Anyone may apply without an account (`POST /api/job-applications`, rate limited per
//! client IP). The answer carries a short-lived upload link (see `auth::links`) with which
//! the applicant uploads documents through the upload pipeline of `uploads` (presigned PUT,
//! then a completion that checks the object), while the application is still open.
//!
//! Staff list and review applications: `PENDING` → `INTERVIEWING` → `APPROVED` or
//! `REJECTED` (an open application may be decided at once), with notes, each change
//! audited in `staff_audits` in its transaction. Approval is an ADMIN's: it opens the
//! DRIVER account and its driver record through the enrolment staff-made accounts use,
//! and answers the set-password link once.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    audit::{self, Entity},
    auth::{
        links::{self, LinkPurpose},
        rbac::Caller,
        Permission, Role,
    },
    db::{p, FromRow, GenericClient, OnConstraint, RowExt, Transaction},
    error::{ApiError, ApiResult, Context, FieldError},
    input::{Cursor, Lines, Page, PageRequest, Validator},
    orders::rules::VehicleType,
    text_enum::text_enum,
    uploads::{
        self,
        sign::{FileFields, SignedUpload},
        EntityType, Uploader,
    },
    AppState,
};

use super::{
    lifecycle::{open_account, CheckedAccount, CreatedAccount},
    normalize_email, Profile,
};

/// How long an application's upload link works.
pub const UPLOAD_LINK_TTL: Duration = Duration::hours(1);
/// Documents one application may hold.
pub const MAX_DOCUMENTS: i64 = 10;
const NOTES_MAX: usize = 2000;

text_enum! {
    /// Where an application stands.
    pub enum ApplicationStatus("application status") {
        Pending = "PENDING",
        Interviewing = "INTERVIEWING",
        Approved = "APPROVED",
        Rejected = "REJECTED",
    }
}

impl ApplicationStatus {
    /// Whether staff may move an application from this status to `next`: forward only,
    /// and a decision is final.
    pub fn may_become(self, next: ApplicationStatus) -> bool {
        use ApplicationStatus::*;
        matches!(
            (self, next),
            (Pending, Interviewing | Approved | Rejected) | (Interviewing, Approved | Rejected)
        )
    }

    /// Whether the applicant may still add documents.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ApplicationStatus::Pending | ApplicationStatus::Interviewing
        )
    }
}

/// An application as the public form sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewApplication {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub vehicle_type: Option<VehicleType>,
    pub years_experience: Option<i16>,
    pub message: Option<String>,
}

/// What the applicant gets back: the application's id and the upload link, shown once.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Submitted {
    pub application: Receipt,
    pub upload_token: String,
    pub upload_token_expires_at: DateTime<Utc>,
    /// Where documents go: `POST` with `Authorization: Bearer {uploadToken}`.
    pub documents_path: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub id: Uuid,
    pub status: ApplicationStatus,
    pub created_at: DateTime<Utc>,
}

/// An application as staff see it.
#[derive(Debug, Clone, Serialize, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub vehicle_type: Option<VehicleType>,
    pub years_experience: Option<i16>,
    pub message: Option<String>,
    pub status: ApplicationStatus,
    pub notes: Option<String>,
    pub reviewed_by: Option<Uuid>,
    pub reviewed_at: Option<DateTime<Utc>>,
    /// The DRIVER account an approval opened.
    pub user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, first_name, last_name, email, phone, city, state, zip, vehicle_type,
     years_experience, message, status, notes, reviewed_by, reviewed_at, user_id, created_at,
     updated_at";

impl Application {
    /// The fields a review changes, for the audit row's `{from, to}`.
    fn reviewed_fields(&self) -> Value {
        json!({ "status": self.status, "notes": self.notes, "userId": self.user_id })
    }
}

struct Checked {
    first_name: String,
    last_name: String,
    email: String,
    phone: String,
    city: Option<String>,
    state: Option<String>,
    zip: Option<String>,
    message: Option<String>,
}

fn check(body: &NewApplication) -> ApiResult<Checked> {
    Validator::validate(|v| {
        let first_name = v.text("firstName", &body.first_name, 60);
        let last_name = v.text("lastName", &body.last_name, 60);
        let email = v.take(normalize_email(&body.email));
        let phone = v.take(phone(&body.phone));
        let city = v.optional_text("city", body.city.as_deref(), 100, Lines::One);
        let state = v.optional_text("state", body.state.as_deref(), 50, Lines::One);
        let zip = v.optional_text("zip", body.zip.as_deref(), 10, Lines::One);
        let message = v.optional_text("message", body.message.as_deref(), 2000, Lines::Many);
        if let Some(years) = body.years_experience {
            v.check(
                (0..=70).contains(&years),
                "yearsExperience",
                "must be from 0 to 70",
            );
        }
        Some(Checked {
            first_name: first_name?,
            last_name: last_name?,
            email: email?,
            phone: phone?,
            city,
            state,
            zip,
            message,
        })
    })
}

/// A phone number a dispatcher can call: 7 to 15 digits, with the usual separators.
fn phone(raw: &str) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    let digits = trimmed.chars().filter(char::is_ascii_digit).count();
    let allowed = trimmed
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if allowed && (7..=15).contains(&digits) {
        Ok(trimmed.to_owned())
    } else {
        Err(FieldError::new(
            "phone",
            "must be a phone number of 7 to 15 digits",
        ))
    }
}

/// Records an application and answers its upload link. One open application per email.
pub async fn submit(state: &AppState, body: &NewApplication) -> ApiResult<Submitted> {
    let checked = check(body)?;
    let client = state.db.get().await?;
    let row = client
        .query_typed_one(
            "INSERT INTO job_applications (first_name, last_name, email, phone, city, state, zip,
                                           vehicle_type, years_experience, message)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             RETURNING id, status, created_at",
            &[
                p(&checked.first_name),
                p(&checked.last_name),
                p(&checked.email),
                p(&checked.phone),
                p(&checked.city),
                p(&checked.state),
                p(&checked.zip),
                p(&body.vehicle_type),
                p(&body.years_experience),
                p(&checked.message),
            ],
        )
        .await
        .on_constraint("job_applications_open_email", || {
            ApiError::conflict(
                "application_open",
                "an application under this email is already being reviewed",
            )
        })?;
    let id: Uuid = row.col("id")?;
    let expires_at = Utc::now() + UPLOAD_LINK_TTL;
    let token = links::sign(
        &*state.jwt().await?,
        LinkPurpose::ApplicationUploads,
        id,
        expires_at,
    );
    tracing::info!(application_id = %id, "driver application received");
    Ok(Submitted {
        application: Receipt {
            id,
            status: row.col("status")?,
            created_at: row.col("created_at")?,
        },
        upload_token: token,
        upload_token_expires_at: expires_at,
        documents_path: format!("/api/job-applications/{id}/documents"),
    })
}

/// The application an upload link opens: the one in the path, still open. Anything else
/// (no link, another application's, altered, expired, decided) is the same 404.
async fn open_by_link(
    state: &AppState,
    client: &impl GenericClient,
    application_id: Uuid,
    token: Option<&str>,
) -> ApiResult<()> {
    let not_found = || ApiError::not_found("job application");
    let keys = state.jwt().await?;
    let named = token
        .and_then(|t| links::verify(&keys, LinkPurpose::ApplicationUploads, t, Utc::now()))
        .filter(|id| *id == application_id)
        .ok_or_else(not_found)?;
    let status: ApplicationStatus = client
        .query_typed_opt(
            "SELECT status FROM job_applications WHERE id = $1",
            &[p(&named)],
        )
        .await?
        .ok_or_else(not_found)?
        .col("status")?;
    if status.is_open() {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// A presigned upload of one document to an open application, by its upload link.
pub async fn sign_document(
    state: &AppState,
    application_id: Uuid,
    token: Option<&str>,
    file: &FileFields,
) -> ApiResult<SignedUpload> {
    let checked = Validator::validate(|v| {
        let file = uploads::sign::check_file(v, file)?;
        v.check(
            file.category().is_application_document(),
            "category",
            "must be DRIVERS_LICENSE, INSURANCE, VEHICLE_REGISTRATION, RESUME or DOCUMENT",
        );
        Some(file)
    })?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    open_by_link(state, &tx, application_id, token).await?;
    // The application locked: parallel uploads count one after the other.
    tx.execute_typed(
        "SELECT 1 FROM job_applications WHERE id = $1 FOR UPDATE",
        &[p(&application_id)],
    )
    .await?;
    let held: i64 = tx
        .query_typed_one(
            "SELECT count(*) AS held FROM file_uploads
              WHERE entity_type = 'job_application' AND entity_id = $1 AND deleted_at IS NULL",
            &[p(&application_id)],
        )
        .await?
        .col("held")?;
    if held >= MAX_DOCUMENTS {
        return Err(ApiError::conflict(
            "too_many_documents",
            format!("an application holds at most {MAX_DOCUMENTS} documents"),
        ));
    }
    let signed = uploads::sign::issue(
        state,
        &tx,
        Uploader::Applicant { application_id },
        checked,
        EntityType::JobApplication,
        application_id,
    )
    .await?;
    tx.commit().await?;
    Ok(signed)
}

/// Completes a document upload of an open application, by its upload link.
pub async fn complete_document(
    state: &AppState,
    application_id: Uuid,
    token: Option<&str>,
    upload_id: Uuid,
) -> ApiResult<uploads::complete::Completed> {
    {
        let client = state.db.get().await?;
        open_by_link(state, &*client, application_id, token).await?;
    }
    uploads::complete::complete(state, Uploader::Applicant { application_id }, upload_id).await
}

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

async fn find(client: &impl GenericClient, id: Uuid, lock: bool) -> ApiResult<Application> {
    let sql = format!(
        "SELECT {COLUMNS} FROM job_applications WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = client
        .query_typed_opt(&sql, &[p(&id)])
        .await?
        .ok_or_else(|| ApiError::not_found("job application"))?;
    Application::from_row(&row)
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

/// In a purge's transaction: the applications made under the account or its email lose
/// their personal fields and review notes, their documents' rows go; returns the
/// documents' object keys to delete after commit.
pub(crate) async fn purge_applicant(
    tx: &Transaction<'_>,
    user_id: Uuid,
    email: &str,
) -> ApiResult<Vec<String>> {
    const HIS: &str = "(user_id = $1 OR lower(email) = lower($2))";
    let ids: Vec<Uuid> = tx
        .query_typed(
            &format!("SELECT id FROM job_applications WHERE {HIS}"),
            &[p(&user_id), p(&email)],
        )
        .await?
        .iter()
        .map(|r| r.col("id"))
        .collect::<ApiResult<_>>()?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    tx.execute_typed(
        "UPDATE job_applications
            SET first_name = '', last_name = '', email = 'purged+' || replace(id::text, '-', '') || '@purged.invalid',
                phone = '', city = NULL, state = NULL, zip = NULL, message = NULL, notes = NULL
          WHERE id = ANY($1)",
        &[p(&ids)],
    )
    .await
    .context("clearing the purged account's applications")?;
    tx.execute_typed(
        "UPDATE staff_audits SET changes = '{\"removed\": \"personal data purged\"}'::jsonb, reason = NULL
          WHERE entity_type = 'JOB_APPLICATION' AND entity_id = ANY($1)",
        &[p(&ids)],
    )
    .await?;
    tx.query_typed(
        "DELETE FROM file_uploads
          WHERE entity_type = 'job_application' AND entity_id = ANY($1) RETURNING s3_key",
        &[p(&ids)],
    )
    .await
    .context("removing the purged account's application documents")?
    .iter()
    .map(|r| r.col("s3_key"))
    .collect()
}
