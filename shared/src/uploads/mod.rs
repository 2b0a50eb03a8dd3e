//! File uploads: S3 holds the bytes, PostgreSQL who owns each file and what it belongs to.
//!
//! - [`policy`]: what may be uploaded (kinds, names, sizes) and the keys objects get.
//! - [`access`]: who may see a file, as one SQL condition every read uses.
//! - [`sign`]: issuing an upload (a `PENDING` row and a presigned PUT).
//! - [`complete`]: checking the uploaded object and making the upload `ACTIVE`.
//! - [`read`] and [`list`]: a presigned download, and pages of an entity's files.
//! - [`remove`]: soft deletion by the uploader or staff.
//! - [`proof`]: the assigned driver's proof of delivery.
//! - [`cleanup`]: the scheduled removal of stale uploads and of deleted files' objects.

mod access;
pub mod cleanup;
pub mod complete;
pub mod list;
pub mod policy;
pub mod proof;
pub mod read;
pub mod remove;
pub mod sign;

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use chrono::{DateTime, Utc};

use crate::{
    error::{ApiError, BoxError, Category},
    text_enum::text_enum,
    ApiResult,
};

/// S3 failed or refused: a 503, counted as an upload failure.
pub(crate) fn storage_unavailable(err: impl Into<BoxError>) -> ApiError {
    ApiError::service_unavailable("uploads are unavailable")
        .in_category(Category::Upload)
        .with_source(err)
}

/// Removes an object from the uploads bucket (a missing object is no error in S3).
pub(crate) async fn delete_object(state: &crate::AppState, key: &str) -> ApiResult<()> {
    state
        .s3
        .delete_object()
        .bucket(&state.config.resources.uploads_bucket)
        .key(key)
        .send()
        .await
        .map_err(storage_unavailable)?;
    Ok(())
}

/// A presigned URL's configuration for `ttl`, and when the URL stops working.
pub(crate) fn presigning(ttl: Duration) -> ApiResult<(PresigningConfig, DateTime<Utc>)> {
    let config = PresigningConfig::expires_in(ttl).map_err(ApiError::internal)?;
    let expires_at = Utc::now() + chrono::Duration::from_std(ttl).map_err(ApiError::internal)?;
    Ok((config, expires_at))
}

text_enum! {
    /// What a file is attached to.
    pub enum EntityType("entity type") {
        Order = "order",
        User = "user",
        /// A driver application's documents, uploaded by the applicant.
        JobApplication = "job_application",
    }
}

/// Who uploads a file: an account, or an applicant through its application's upload link
/// (such a file has no uploader account, only its application).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uploader {
    Account(uuid::Uuid),
    Applicant { application_id: uuid::Uuid },
}

impl Uploader {
    /// The uploading account, if any.
    pub fn account(self) -> Option<uuid::Uuid> {
        match self {
            Uploader::Account(user_id) => Some(user_id),
            Uploader::Applicant { .. } => None,
        }
    }

    /// The condition that a `file_uploads` row is this uploader's, with its one
    /// parameter at `$n` (bind [`Uploader::id`]).
    pub(crate) fn owns(self, n: usize) -> String {
        match self {
            Uploader::Account(_) => format!("user_id = ${n}"),
            Uploader::Applicant { .. } => {
                format!("user_id IS NULL AND entity_type = 'job_application' AND entity_id = ${n}")
            }
        }
    }

    pub(crate) fn id(&self) -> &uuid::Uuid {
        match self {
            Uploader::Account(user_id) => user_id,
            Uploader::Applicant { application_id } => application_id,
        }
    }
}

text_enum! {
    /// Where an upload stands: issued but not checked, or checked and in use.
    pub enum UploadStatus("upload status") {
        Pending = "PENDING",
        Active = "ACTIVE",
    }
}
