//! Purging an account: its personal data removed for good.
//!
//! Purging keeps the row, because orders and audit rows reference it, and clears every
//! personal field of it and of the rows that are about it: the account, its driver
//! record, its private addresses, its orders' free text, its audit rows' values, its
//! files (rows and objects), the driver applications made under it, and any text or JSON
//! anywhere that still holds its email or phone. Its sessions end, and the authorizer
//! already refuses a deleted account.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::removal::lock_deleted;
use crate::{
    auth::{sessions, Caller, Permission},
    db::{p, FromRow, RowExt, Transaction},
    error::{ApiError, ApiResult},
    input::{Lines, Validator},
    users::{applications::purge_applicant, audit, cut_off_sessions, AuditAction},
    AppState,
};

/// `DELETE /api/users/{userId}/purge` as clients send it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PurgeRequest {
    pub confirmed: bool,
    pub reason: String,
}

/// What a purge removed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Purged {
    pub user_id: Uuid,
    pub purged_at: DateTime<Utc>,
    pub files_removed: usize,
    pub sessions_ended: usize,
}

/// Personal values of an account, read before they are cleared.
#[derive(FromRow)]
struct PersonalData {
    name: Option<String>,
    email: String,
}

/// What a purge clears, `$1` the account. Orders, deliveries and audit rows stay, with
/// their personal fields emptied; the account's own track and private addresses go.
const PURGE_STATEMENTS: &[&str] = &[
    // A customer email no order carries (a series' date that failed) names the series.
    "UPDATE outbox SET payload = '{\"removed\": \"personal data purged\"}'::jsonb
      WHERE order_id IS NULL AND kind = 'CUSTOMER_EMAIL'
        AND payload->>'seriesId' IN (SELECT id::text FROM order_series WHERE user_id = $1)",
    "UPDATE users SET email = 'purged+' || replace(id::text, '-', '') || '@purged.invalid',
            password_hash = NULL, name = NULL, contact_name = NULL, company_name = NULL,
            phone = NULL, website = NULL, is_temporary_password = false, deletion_reason = NULL,
            purged_at = now()
      WHERE id = $1",
    "UPDATE drivers SET phone = NULL, license_number = NULL, employee_id = NULL,
            vehicle_number = NULL, is_active = false, is_on_duty = false,
            last_known_location = NULL
      WHERE user_id = $1",
    "DELETE FROM driver_locations WHERE driver_id IN (SELECT id FROM drivers WHERE user_id = $1)",
    "UPDATE driver_shifts SET start_location = NULL, end_location = NULL
      WHERE driver_id IN (SELECT id FROM drivers WHERE user_id = $1)",
    // Planned windows name where the person starts and ends the day (often home).
    "DELETE FROM driver_availability WHERE driver_id IN (SELECT id FROM drivers WHERE user_id = $1)",
    // Why a driver declined an offer is the driver's own words.
    "UPDATE dispatch_offers SET decline_reason = NULL
      WHERE driver_id IN (SELECT id FROM drivers WHERE user_id = $1)",
    "UPDATE user_addresses SET alias = NULL WHERE user_id = $1",
    "UPDATE addresses SET name = NULL, street1 = '(removed)', street2 = NULL, zip = NULL,
            county = NULL, location_number = NULL, parking_loading = NULL, location = NULL
      WHERE created_by = $1 AND NOT is_shared",
    "UPDATE orders SET client_attention = NULL, pickup_notes = NULL, special_notes = NULL,
            cancellation_reason = NULL, metadata = '{}'::jsonb
      WHERE user_id = $1",
    // A series keeps the order's notes to place each date with; it places no more.
    "UPDATE order_series SET template = template - 'brokerage' - 'clientAttention' - 'pickupNotes' - 'specialNotes',
            paused_at = COALESCE(paused_at, now())
      WHERE user_id = $1",
    "UPDATE order_status_history SET note = NULL
      WHERE order_id IN (SELECT id FROM orders WHERE user_id = $1) OR actor_id = $1",
    "UPDATE deliveries SET delivery_notes = NULL, proof_of_delivery = NULL
      WHERE order_id IN (SELECT id FROM orders WHERE user_id = $1)
         OR driver_id IN (SELECT id FROM drivers WHERE user_id = $1)",
    "UPDATE outbox SET payload = '{\"removed\": \"personal data purged\"}'::jsonb
      WHERE order_id IN (SELECT id FROM orders WHERE user_id = $1)
        AND (kind IN ('CUSTOMER_EMAIL', 'CUSTOMER_SMS') OR status <> 'PENDING')",
    // A driver's pushed offers carry its decline reasons.
    "UPDATE outbox SET payload = '{\"removed\": \"personal data purged\"}'::jsonb
      WHERE kind = 'DRIVER_PUSH' AND status <> 'PENDING'
        AND payload->>'driverId' IN (SELECT id::text FROM drivers WHERE user_id = $1)",
    "UPDATE pricing_quotes SET inputs = '{\"removed\": \"personal data purged\"}'::jsonb
      WHERE user_id = $1 OR order_id IN (SELECT id FROM orders WHERE user_id = $1)",
    "UPDATE user_audits SET changes = '{\"removed\": \"personal data purged\"}'::jsonb, reason = NULL
      WHERE user_id = $1",
    "UPDATE staff_audits SET changes = '{\"removed\": \"personal data purged\"}'::jsonb, reason = NULL
      WHERE entity_type = 'ORDER' AND entity_id IN (SELECT id FROM orders WHERE user_id = $1)",
    "UPDATE password_set_tokens SET used_at = COALESCE(used_at, now()) WHERE user_id = $1",
];

/// Removes an account's personal data for good (SUPER_ADMIN, after a soft delete, with a
/// confirmation and a reason); one transaction, then its files' objects and its sessions.
pub async fn purge(
    state: &AppState,
    caller: &Caller,
    user_id: Uuid,
    body: &PurgeRequest,
) -> ApiResult<Purged> {
    caller.require(Permission::PurgeUsers)?;
    let reason = check_request(body)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let cleared = clear_personal_data(&tx, caller, user_id, &reason).await?;
    tx.commit().await?;
    // S3 and the session store are not the database: they are told after the commit, so
    // a purge that rolled back has removed nothing.
    let files_removed = crate::uploads::remove::delete_objects(state, &cleared.files).await;
    let sessions_ended = sessions::revoke_all_of(state, user_id, None).await?;
    tracing::info!(user_id = %user_id, by = %caller.user_id, files_removed, sessions_ended, "account purged");
    Ok(Purged {
        user_id,
        purged_at: cleared.purged_at,
        files_removed,
        sessions_ended,
    })
}

/// The reason of a confirmed purge: 10 to 500 characters, because nothing else records
/// why the data is gone.
fn check_request(body: &PurgeRequest) -> ApiResult<String> {
    Validator::validate(|v| {
        v.check(
            body.confirmed,
            "confirmed",
            "must be true: purging cannot be undone",
        );
        let reason = crate::input::bounded_text("reason", &body.reason, 10, 500, Lines::One);
        v.take(reason)
    })
}

/// What the purge's transaction left for after the commit.
struct Cleared {
    /// Object keys of the files whose rows were removed.
    files: Vec<String>,
    purged_at: DateTime<Utc>,
}

/// The purge's transaction: every personal value of the account and of the rows about
/// it cleared, its sessions cut off, its files' rows removed, and the purge audited.
///
/// Kept as one procedure because its order is the rule: the personal values are read
/// before the statements clear them, and the purge's audit row is written after the
/// statements empty the account's earlier ones, so that it stays.
#[tracing::instrument(name = "clear_personal_data", skip_all, fields(%user_id))]
async fn clear_personal_data(
    tx: &Transaction<'_>,
    caller: &Caller,
    user_id: Uuid,
    reason: &str,
) -> ApiResult<Cleared> {
    let personal = lock_purgeable(tx, user_id).await?;
    // Driver applications made under the account or its email, and their documents.
    let application_files = purge_applicant(tx, user_id, &personal.email).await?;
    // Each statement clears named columns of rows that belong to the account (by
    // `user_id`, `created_by` or its orders and deliveries): never a sweep over other
    // accounts' rows, where a value like the purged email may stand inside another.
    for statement in PURGE_STATEMENTS {
        tx.execute_typed(statement, &[p(&user_id)]).await?;
    }
    clear_dispatch_notes(tx, user_id, personal.name.as_deref()).await?;
    cut_off_sessions(tx, user_id, None).await?;
    let mut files = crate::uploads::remove::purge_owner(tx, user_id).await?;
    files.extend(application_files);
    audit(
        tx,
        user_id,
        AuditAction::Purge,
        caller.user_id,
        json!({}),
        Some(reason),
    )
    .await?;
    let purged_at: DateTime<Utc> = tx
        .query_typed_one("SELECT purged_at FROM users WHERE id = $1", &[p(&user_id)])
        .await?
        .col("purged_at")?;
    Ok(Cleared { files, purged_at })
}

/// Locks the soft-deleted account, refusing one already purged, and reads the personal
/// values the purge looks for in other rows.
async fn lock_purgeable(tx: &Transaction<'_>, user_id: Uuid) -> ApiResult<PersonalData> {
    let (_, purged) = lock_deleted(tx, user_id).await?;
    if purged {
        return Err(ApiError::conflict(
            "purged",
            "the account was already purged",
        ));
    }
    let row = tx
        .query_typed_one(
            "SELECT name, email FROM users WHERE id = $1",
            &[p(&user_id)],
        )
        .await?;
    PersonalData::from_row(&row)
}

/// Dispatch notes on orders the account drove ("assigned to <name>") are other
/// customers' orders: only the notes that name the driver are cleared, and only for a
/// name long enough not to match inside unrelated words.
async fn clear_dispatch_notes(
    tx: &Transaction<'_>,
    user_id: Uuid,
    name: Option<&str>,
) -> ApiResult<()> {
    let Some(name) = name.filter(|n| n.trim().chars().count() >= 3) else {
        return Ok(());
    };
    tx.execute_typed(
        "UPDATE order_status_history h SET note = NULL
          WHERE strpos(h.note, $2) > 0
            AND h.order_id IN (SELECT ds.order_id FROM dispatches ds JOIN drivers d ON d.id = ds.driver_id
                                WHERE d.user_id = $1)",
        &[p(&user_id), p(&name.to_owned())],
    )
    .await?;
    Ok(())
}
