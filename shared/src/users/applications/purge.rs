//! An account's purge reaches its driver applications: their personal fields and notes
//! are emptied and their documents removed.

use uuid::Uuid;

use crate::{
    db::{p, RowExt, Transaction},
    error::{ApiResult, Context},
};

/// In a purge's transaction: the applications made under the account or its email lose
/// their personal fields and review notes, their documents' rows go; returns the
/// documents' object keys to delete after commit.
pub(crate) async fn purge_applicant(
    tx: &Transaction<'_>,
    user_id: Uuid,
    email: &str,
) -> ApiResult<Vec<String>> {
    const HIS: &str = "(user_id = $1 OR lower(email) = lower($2))";
    let ids: Vec<Uuid> = tx
        .query_typed(
            &format!("SELECT id FROM job_applications WHERE {HIS}"),
            &[p(&user_id), p(&email)],
        )
        .await?
        .iter()
        .map(|r| r.col("id"))
        .collect::<ApiResult<_>>()?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    tx.execute_typed(
        "UPDATE job_applications
            SET first_name = '', last_name = '', email = 'purged+' || replace(id::text, '-', '') || '@purged.invalid',
                phone = '', city = NULL, state = NULL, zip = NULL, message = NULL, notes = NULL
          WHERE id = ANY($1)",
        &[p(&ids)],
    )
    .await
    .context("clearing the purged account's applications")?;
    tx.execute_typed(
        "UPDATE staff_audits SET changes = '{\"removed\": \"personal data purged\"}'::jsonb, reason = NULL
          WHERE entity_type = 'JOB_APPLICATION' AND entity_id = ANY($1)",
        &[p(&ids)],
    )
    .await?;
    tx.query_typed(
        "DELETE FROM file_uploads
          WHERE entity_type = 'job_application' AND entity_id = ANY($1) RETURNING s3_key",
        &[p(&ids)],
    )
    .await
    .context("removing the purged account's application documents")?
    .iter()
    .map(|r| r.col("s3_key"))
    .collect()
}
