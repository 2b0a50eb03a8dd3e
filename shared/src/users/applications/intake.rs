//! The public form: anyone applies to drive (rate limited per client IP in the route) and
//! gets a short-lived link to upload documents with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ApplicationStatus, UPLOAD_LINK_TTL};
use crate::{
    auth::links::{self, LinkPurpose},
    db::{p, OnConstraint, RowExt},
    error::{ApiError, ApiResult, FieldError},
    input::{Lines, Validator},
    orders::rules::VehicleType,
    users::normalize_email,
    AppState,
};

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
