//! Completing an upload (`POST /api/file-uploads/{uploadId}/complete`): only its uploader
//! completes it, and only once S3 shows an object of the declared size and type. A
//! mismatch removes the object and the row (422): nothing unchecked stays.

use serde::Serialize;
use uuid::Uuid;

use super::UploadStatus;
use crate::{
    auth::rbac::Caller,
    db::{p, RowExt},
    error::{ApiError, ApiResult, Context},
    AppState,
};

/// A completed upload.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Completed {
    pub upload_id: Uuid,
    pub status: UploadStatus,
    pub file_name: String,
    pub file_type: String,
    pub file_size: i64,
    pub path: String,
}

pub async fn complete(state: &AppState, caller: &Caller, upload_id: Uuid) -> ApiResult<Completed> {
    let client = state.db.get().await?;
    // Someone else's upload, a completed one or none at all: the same 404.
    let row = client
        .query_typed_opt(
            "SELECT file_name, file_type, file_size, s3_key FROM file_uploads
              WHERE id = $1 AND user_id = $2 AND status = $3 AND deleted_at IS NULL",
            &[p(&upload_id), p(&caller.user_id), p(&UploadStatus::Pending)],
        )
        .await
        .context("reading the upload")?
        .ok_or_else(|| ApiError::not_found("upload"))?;
    let file_name: String = row.col("file_name")?;
    let file_type: String = row.col("file_type")?;
    let file_size: i64 = row.col("file_size")?;
    let key: String = row.col("s3_key")?;
    let bucket = &state.config.resources.uploads_bucket;

    let head = state.s3.head_object().bucket(bucket).key(&key).send().await;
    let head = match head {
        Ok(head) => head,
        Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => {
            return Err(ApiError::conflict(
                "upload_incomplete",
                "no file has been uploaded to the signed URL yet",
            ))
        }
        Err(err) => return Err(super::storage_unavailable(err)),
    };
    let size = head.content_length().unwrap_or(-1);
    let content_type = head.content_type().unwrap_or("");
    let mismatch = if size != file_size {
        Some(format!(
            "the file has {size} bytes, {file_size} were declared"
        ))
    } else if !content_type.eq_ignore_ascii_case(&file_type) {
        Some(format!(
            "the file is {content_type:?}, {file_type} was declared"
        ))
    } else {
        None
    };
    if let Some(reason) = mismatch {
        state
            .s3
            .delete_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .map_err(super::storage_unavailable)?;
        client
            .execute_typed("DELETE FROM file_uploads WHERE id = $1", &[p(&upload_id)])
            .await
            .context("removing the refused upload")?;
        return Err(ApiError::unprocessable("upload_mismatch", reason));
    }
    client
        .execute_typed(
            "UPDATE file_uploads SET status = $2, completed_at = now() WHERE id = $1",
            &[p(&upload_id), p(&UploadStatus::Active)],
        )
        .await
        .context("activating the upload")?;
    Ok(Completed {
        upload_id,
        status: UploadStatus::Active,
        file_name,
        file_type,
        file_size,
        path: key,
    })
}
