//! Completing an upload (`POST /api/file-uploads/{uploadId}/complete`): only its uploader
//! completes it, and only once S3 shows an object of the declared size and type, written
//! while the URL was valid. A mismatch removes the object and the row (422), as does an
//! expired upload (410): nothing unchecked stays.

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::Serialize;
use uuid::Uuid;

use super::{sign::upload_deadline, UploadStatus, Uploader};
use crate::{
    db::{p, GenericClient, RowExt},
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

fn expired() -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "upload_expired",
        "the upload URL expired before the file was uploaded; request a new one",
    )
}

fn mismatch(reason: String) -> ApiError {
    ApiError::unprocessable("upload_mismatch", reason)
}

/// Removes a refused upload's object and row.
async fn discard(
    state: &AppState,
    client: &impl GenericClient,
    upload_id: Uuid,
    key: &str,
) -> ApiResult<()> {
    super::delete_object(state, key).await?;
    client
        .execute_typed("DELETE FROM file_uploads WHERE id = $1", &[p(&upload_id)])
        .await
        .context("removing the refused upload")?;
    Ok(())
}

pub async fn complete(
    state: &AppState,
    uploader: Uploader,
    upload_id: Uuid,
) -> ApiResult<Completed> {
    let client = state.db.get().await?;
    // Someone else's upload, a completed one or none at all: the same 404.
    let sql = format!(
        "SELECT file_name, file_type, file_size, s3_key, uploaded_at FROM file_uploads
          WHERE id = $1 AND {} AND status = $3 AND deleted_at IS NULL",
        uploader.owns(2)
    );
    let row = client
        .query_typed_opt(
            &sql,
            &[p(&upload_id), p(uploader.id()), p(&UploadStatus::Pending)],
        )
        .await
        .context("reading the upload")?
        .ok_or_else(|| ApiError::not_found("upload"))?;
    let file_name: String = row.col("file_name")?;
    let file_type: String = row.col("file_type")?;
    let file_size: i64 = row.col("file_size")?;
    let key: String = row.col("s3_key")?;
    let deadline = upload_deadline(row.col("uploaded_at")?);
    let bucket = &state.config.resources.uploads_bucket;

    let head = state.s3.head_object().bucket(bucket).key(&key).send().await;
    let head = match head {
        Ok(head) => head,
        Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => {
            if Utc::now() > deadline {
                discard(state, &*client, upload_id, &key).await?;
                return Err(expired());
            }
            return Err(ApiError::conflict(
                "upload_incomplete",
                "no file has been uploaded to the signed URL yet",
            ));
        }
        Err(err) => return Err(super::storage_unavailable(err)),
    };
    let size = head.content_length().unwrap_or(-1);
    let content_type = head.content_type().unwrap_or("");
    let written_at = head
        .last_modified()
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()));
    let refusal = if written_at.is_none_or(|at| at > deadline) {
        // S3 refuses an expired URL; an object written later came another way.
        Some(expired())
    } else if size != file_size {
        Some(mismatch(format!(
            "the file has {size} bytes, {file_size} were declared"
        )))
    } else if !content_type.eq_ignore_ascii_case(&file_type) {
        Some(mismatch(format!(
            "the file is {content_type:?}, {file_type} was declared"
        )))
    } else {
        None
    };
    if let Some(refusal) = refusal {
        discard(state, &*client, upload_id, &key).await?;
        return Err(refusal);
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
