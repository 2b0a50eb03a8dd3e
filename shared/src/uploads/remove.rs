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
    let access = FileAccess::of(caller);
    let sql = format!(
        "SELECT f.user_id,
                EXISTS (SELECT 1 FROM deliveries d
                         WHERE d.pod_upload_id = f.id OR d.signature_upload_id = f.id) AS is_proof
           FROM file_uploads f
          WHERE f.id = $5 AND f.deleted_at IS NULL
            AND (f.status = 'ACTIVE' OR f.user_id = $3) AND {}
          FOR UPDATE OF f",
        access.sql(1)
    );
    let [a, b, c, d] = access.params();
    let row = tx
        .query_typed_opt(&sql, &[a, b, c, d, p(&upload_id)])
        .await
        .context("finding the file")?
        .ok_or_else(|| ApiError::not_found("file"))?;
    let uploader: Option<Uuid> = row.col("user_id")?;
    if uploader != Some(caller.user_id) && !caller.can(Permission::ManageFiles) {
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

/// A purged account's files, in its purge's transaction: those it uploaded or that are
/// attached to it go (rows now, objects after commit through [`delete_objects`]); a
/// delivery's proof it uploaded stays as the order's record, under a neutral name.
/// Returns the object keys to delete.
pub async fn purge_owner(tx: &crate::db::Transaction<'_>, user_id: Uuid) -> ApiResult<Vec<String>> {
    const PROOF: &str = "EXISTS (SELECT 1 FROM deliveries d
                                  WHERE d.pod_upload_id = f.id OR d.signature_upload_id = f.id)";
    let mine = "(f.user_id = $1 OR (f.entity_type = 'user' AND f.entity_id = $1))";
    tx.execute_typed(
        &format!(
            "UPDATE file_uploads f SET file_name = 'proof-of-delivery' WHERE {mine} AND {PROOF}"
        ),
        &[p(&user_id)],
    )
    .await
    .context("renaming the purged account's proofs")?;
    let rows = tx
        .query_typed(
            &format!("DELETE FROM file_uploads f WHERE {mine} AND NOT {PROOF} RETURNING s3_key"),
            &[p(&user_id)],
        )
        .await
        .context("removing the purged account's files")?;
    rows.iter().map(|r| r.col("s3_key")).collect()
}

/// Deletes objects of the uploads bucket (after the rows are gone); returns how many.
/// A failure is logged: the object is orphaned, not exposed (no row points at it).
pub async fn delete_objects(state: &AppState, keys: &[String]) -> usize {
    let mut deleted = 0;
    for key in keys {
        let result = state
            .s3
            .delete_object()
            .bucket(&state.config.resources.uploads_bucket)
            .key(key)
            .send()
            .await;
        match result {
            Ok(_) => deleted += 1,
            Err(e) => {
                tracing::warn!(key = %key, error = %crate::error::chain(&e), "could not delete a purged file's object")
            }
        }
    }
    deleted
}
