//! The applicant's documents, uploaded through the upload pipeline with the application's
//! link while the application is open.

use chrono::Utc;
use uuid::Uuid;

use super::{ApplicationStatus, MAX_DOCUMENTS};
use crate::{
    auth::links::{self, LinkPurpose},
    db::{p, GenericClient, RowExt},
    error::{ApiError, ApiResult},
    input::Validator,
    uploads::{
        self,
        sign::{FileFields, SignedUpload},
        EntityType, Uploader,
    },
    AppState,
};

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
