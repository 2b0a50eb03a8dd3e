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
//!
//! The module's parts: [`intake`] (the public form), [`documents`] (the applicant's
//! uploads by link), [`review`] (what staff see and decide) and [`purge`] (an account's
//! applications emptied with it).

pub mod documents;
pub mod intake;
pub(crate) mod purge;
pub mod review;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    db::{p, FromRow, GenericClient},
    error::{ApiError, ApiResult},
    orders::rules::VehicleType,
    text_enum::text_enum,
};

pub use documents::{complete_document, sign_document};
pub use intake::{submit, NewApplication, Receipt, Submitted};
pub(crate) use purge::purge_applicant;
pub use review::{
    detail, list, review, ApplicationDetail, ApplicationFilters, Document, Review, ReviewEntry,
    Reviewed,
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
