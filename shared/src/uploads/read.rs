//! Reading a file (`GET /api/file-uploads/{uploadId}`): a presigned GET for a few
//! minutes, named with a safe `Content-Disposition`, for its uploader and whoever may
//! attach to what it belongs to (an order they may see; their own account; staff).
//! Anyone else gets the 404 of a file that does not exist.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{policy, sign::may_attach, EntityType, UploadStatus};
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
    let row = client
        .query_typed_opt(
            "SELECT user_id, file_name, file_type, file_size, s3_key, entity_type, entity_id
               FROM file_uploads
              WHERE id = $1 AND status = $2 AND deleted_at IS NULL",
            &[p(&upload_id), p(&UploadStatus::Active)],
        )
        .await
        .context("reading the upload")?
        .ok_or_else(|| ApiError::not_found("file"))?;
    let uploader: Uuid = row.col("user_id")?;
    let entity: Option<(EntityType, Uuid)> = row
        .col::<Option<EntityType>>("entity_type")?
        .zip(row.col::<Option<Uuid>>("entity_id")?);
    if uploader != caller.user_id {
        let Some((entity_type, entity_id)) = entity else {
            return Err(ApiError::not_found("file"));
        };
        may_attach(&*client, caller, entity_type, entity_id)
            .await
            .map_err(|_| ApiError::not_found("file"))?;
    }
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
