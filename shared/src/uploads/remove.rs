//! Removing a file (`DELETE /api/file-uploads/{uploadId}`): a soft delete by its uploader
//! or by staff; the cleanup job removes the object once the retention has passed.
//! Proof of delivery stays: a file attached to a delivery is not removed (409).

use uuid::Uuid;

use super::access::FileAccess;
use crate::{
    auth::{rbac::Caller, Permission},
    db::{p, RowExt},
    error::{ApiError, ApiResult, Context},
    AppState,
};

pub async fn remove(state: &AppState, caller: &Caller, upload_id: Uuid) -> ApiResult<()> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    // The uploader may also withdraw an upload still pending; others see active files only.
    let sql = format!(
        "SELECT f.user_id,
                EXISTS (SELECT 1 FROM deliveries d
                         WHERE d.pod_upload_id = f.id OR d.signature_upload_id = f.id) AS is_proof
           FROM file_uploads f
          WHERE f.id = $5 AND f.deleted_at IS NULL
            AND (f.status = 'ACTIVE' OR f.user_id = $3) AND {}
          FOR UPDATE OF f",
        FileAccess::sql(1)
    );
    let access = FileAccess::of(caller);
    let [a, b, c, d] = access.params();
    let row = tx
        .query_typed_opt(&sql, &[a, b, c, d, p(&upload_id)])
        .await
        .context("finding the file")?
        .ok_or_else(|| ApiError::not_found("file"))?;
    let uploader: Uuid = row.col("user_id")?;
    if uploader != caller.user_id && !caller.can(Permission::ManageFiles) {
        return Err(ApiError::forbidden(
            "only the file's uploader or staff may remove it",
        ));
    }
    if row.col::<bool>("is_proof")? {
        return Err(ApiError::conflict(
            "file_in_use",
            "the file is a delivery's proof and is kept",
        ));
    }
    tx.execute_typed(
        "UPDATE file_uploads SET deleted_at = now(), deleted_by = $2 WHERE id = $1",
        &[p(&upload_id), p(&caller.user_id)],
    )
    .await
    .context("removing the file")?;
    tx.commit().await?;
    tracing::info!(%upload_id, removed_by = %caller.user_id, "file removed");
    Ok(())
}
