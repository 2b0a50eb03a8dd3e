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

/// Completes the caller's pending upload once the object S3 holds is the one declared.
pub async fn complete(
    state: &AppState,
    uploader: Uploader,
    upload_id: Uuid,
) -> ApiResult<Completed> {
    let client = state.db.get().await?;
    let pending = pending_upload(&*client, uploader, upload_id).await?;
    let object = stored_object(state, &pending.key).await?;
    match verdict(&pending, object.as_ref(), Utc::now()) {
        Verdict::Complete => {}
        Verdict::NotUploaded => {
            return Err(ApiError::conflict(
                "upload_incomplete",
                "no file has been uploaded to the signed URL yet",
            ))
        }
        Verdict::Refuse(refusal) => {
            discard(state, &*client, upload_id, &pending.key).await?;
            return Err(refusal);
        }
    }
    activate(&*client, upload_id).await?;
    Ok(Completed {
        upload_id,
        status: UploadStatus::Active,
        file_name: pending.file_name,
        file_type: pending.file_type,
        file_size: pending.file_size,
        path: pending.key,
    })
}

/// A pending upload as issued: what was declared, its key, and until when the signed
/// URL could be used.
struct Pending {
    file_name: String,
    file_type: String,
    file_size: i64,
    key: String,
    deadline: DateTime<Utc>,
}

/// The uploader's pending upload. Someone else's upload, a completed one or none at all
/// is the same 404, so ids cannot be probed.
#[tracing::instrument(name = "read_pending_upload", skip_all, fields(%upload_id))]
async fn pending_upload(
    client: &impl GenericClient,
    uploader: Uploader,
    upload_id: Uuid,
) -> ApiResult<Pending> {
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
    Ok(Pending {
        file_name: row.col("file_name")?,
        file_type: row.col("file_type")?,
        file_size: row.col("file_size")?,
        key: row.col("s3_key")?,
        deadline: upload_deadline(row.col("uploaded_at")?),
    })
}

/// What S3 says of an uploaded object.
struct StoredObject {
    /// -1 when S3 gives no length, so that it matches no declared size.
    size: i64,
    content_type: String,
    written_at: Option<DateTime<Utc>>,
}

/// The object at `key`, or `None` when nothing has been uploaded to it yet.
#[tracing::instrument(name = "head_uploaded_object", skip_all)]
async fn stored_object(state: &AppState, key: &str) -> ApiResult<Option<StoredObject>> {
    let bucket = &state.config.resources.uploads_bucket;
    let head = match state.s3.head_object().bucket(bucket).key(key).send().await {
        Ok(head) => head,
        Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => return Ok(None),
        Err(err) => return Err(super::storage_unavailable(err)),
    };
    Ok(Some(StoredObject {
        size: head.content_length().unwrap_or(-1),
        content_type: head.content_type().unwrap_or("").to_owned(),
        written_at: head
            .last_modified()
            .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos())),
    }))
}

/// Whether an upload may complete.
enum Verdict {
    Complete,
    /// Nothing uploaded yet, and the URL still works: the client may try again.
    NotUploaded,
    /// Never: the object and the row go, and the client hears why.
    Refuse(ApiError),
}

/// Judges the object against the upload: it must exist by the deadline, have been
/// written before it, and have the declared size and type.
fn verdict(pending: &Pending, object: Option<&StoredObject>, now: DateTime<Utc>) -> Verdict {
    let Some(object) = object else {
        return if now > pending.deadline {
            Verdict::Refuse(expired())
        } else {
            Verdict::NotUploaded
        };
    };
    let (size, content_type) = (object.size, &object.content_type);
    if object.written_at.is_none_or(|at| at > pending.deadline) {
        // S3 refuses an expired URL; an object written later came another way.
        Verdict::Refuse(expired())
    } else if size != pending.file_size {
        Verdict::Refuse(mismatch(format!(
            "the file has {size} bytes, {} were declared",
            pending.file_size
        )))
    } else if !content_type.eq_ignore_ascii_case(&pending.file_type) {
        Verdict::Refuse(mismatch(format!(
            "the file is {content_type:?}, {} was declared",
            pending.file_type
        )))
    } else {
        Verdict::Complete
    }
}

/// Makes the checked upload `ACTIVE`.
#[tracing::instrument(name = "activate_upload", skip_all, fields(%upload_id))]
async fn activate(client: &impl GenericClient, upload_id: Uuid) -> ApiResult<()> {
    client
        .execute_typed(
            "UPDATE file_uploads SET status = $2, completed_at = now() WHERE id = $1",
            &[p(&upload_id), p(&UploadStatus::Active)],
        )
        .await
        .context("activating the upload")?;
    Ok(())
}
