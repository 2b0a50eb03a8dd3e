//! Reading a file (`GET /api/file-uploads/{uploadId}`): a presigned GET for a few
//! minutes, named with a safe `Content-Disposition`, for those [`FileAccess`] lets see
//! it. Anyone else gets the 404 of a file that does not exist.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{access::FileAccess, policy};
use crate::{
    auth::rbac::Caller,
    db::{p, RowExt},
    error::{ApiError, ApiResult, Context},
    AppState,
};

/// How long a download URL works.
pub const DOWNLOAD_URL_TTL: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Download {
    pub upload_id: Uuid,
    pub file_name: String,
    pub file_type: String,
    pub file_size: i64,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn download(state: &AppState, caller: &Caller, upload_id: Uuid) -> ApiResult<Download> {
    let client = state.db.get().await?;
    let access = FileAccess::of(caller);
    let sql = format!(
        "SELECT f.file_name, f.file_type, f.file_size, f.s3_key FROM file_uploads f
          WHERE f.id = $5 AND f.status = 'ACTIVE' AND f.deleted_at IS NULL AND {}",
        access.sql(1)
    );
    let [a, b, c, d] = access.params();
    let row = client
        .query_typed_opt(&sql, &[a, b, c, d, p(&upload_id)])
        .await
        .context("reading the upload")?
        .ok_or_else(|| ApiError::not_found("file"))?;
    let file_name: String = row.col("file_name")?;
    let file_type: String = row.col("file_type")?;
    let (presigning, expires_at) = super::presigning(DOWNLOAD_URL_TTL)?;
    let presigned = state
        .s3
        .get_object()
        .bucket(&state.config.resources.uploads_bucket)
        .key(row.col::<String>("s3_key")?)
        .response_content_disposition(policy::content_disposition(&file_name))
        .response_content_type(&file_type)
        .presigned(presigning)
        .await
        .map_err(super::storage_unavailable)?;
    Ok(Download {
        upload_id,
        file_size: row.col("file_size")?,
        file_name,
        file_type,
        url: presigned.uri().to_owned(),
        expires_at,
    })
}
