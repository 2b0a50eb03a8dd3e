//! An account's life beyond sign-up: made by staff with a one-time set-password link,
//! deleted (refused while it has live work), restored, listed once deleted, and purged.
//!
//! Purging keeps the row, because orders and audit rows reference it, and clears every
//! personal field of it and of the rows that are about it: the account, its driver
//! record, its private addresses, its orders' free text, its audit rows' values, its
//! files (rows and objects), the driver applications made under it, and any text or JSON anywhere that still holds its email or
//! phone. Its sessions end, and the authorizer already refuses a deleted account.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    audit, normalize_email, profile, AuditAction, Profile, ProfileInput, User, NAME_MAX,
    USER_COLUMNS,
};
use crate::{
    auth::{passwords, rbac::may_manage, sessions, Caller, Permission, Role, UserStatus},
    db::{p, FromRow, GenericClient, OnConstraint, RowExt, Transaction},
    drivers,
    error::{ApiError, ApiResult, FieldError},
    input::{Cursor, Lines, Page, PageRequest, Validator},
    AppState,
};

/// How long a set-password link works.
pub const SET_PASSWORD_TTL: Duration = Duration::hours(72);

/// Orders that still need their driver keep their client's account from being deleted.
const LIVE_ORDER: &str = "order_is_open(status) AND deleted_at IS NULL";

/// Whether `actor` may create an account of `role`: an ADMIN any non-staff role, a
/// SUPER_ADMIN any.
pub fn may_create(actor: Role, role: Role) -> bool {
    crate::auth::rbac::allows(actor, Permission::CreateUsers)
        && (!role.is_staff() || actor == Role::SuperAdmin)
}

/// An account as staff create it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAccount {
    pub email: String,
    #[serde(alias = "type")]
    pub role: Role,
    pub name: String,
    pub contact_name: Option<String>,
    pub company_name: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
}

/// A created account and its set-password link, shown once.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedAccount {
    pub user: User,
    /// Sent to the person out of band; only its hash is stored.
    pub set_password_token: String,
    pub set_password_expires_at: DateTime<Utc>,
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use rand::RngExt;
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Creates an account without a password, active at once (a driver with its driver
/// record), and a set-password link; audited.
pub async fn create_by_staff(
    state: &AppState,
    caller: &Caller,
    body: &NewAccount,
) -> ApiResult<CreatedAccount> {
    caller.require(Permission::CreateUsers)?;
    if !may_create(caller.role, body.role) {
        return Err(ApiError::forbidden(format!(
            "you may not create a {} account",
            body.role
        )));
    }
    let (email, name, extra) = Validator::validate(|v| {
        let email = v.take(normalize_email(&body.email));
        let name = v.text("name", &body.name, NAME_MAX);
        let extra = profile(
            v,
            ProfileInput {
                contact_name: body.contact_name.as_deref(),
                company_name: body.company_name.as_deref(),
                phone: body.phone.as_deref(),
                website: body.website.as_deref(),
                ..ProfileInput::default()
            },
        );
        Some((email?, name?, extra))
    })?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let account = CheckedAccount {
        email,
        role: body.role,
        name,
        profile: extra,
    };
    let created = open_account(&tx, caller.user_id, &account).await?;
    tx.commit().await?;
    tracing::info!(user_id = %created.user.id, role = %created.user.role, by = %caller.user_id, "account created by staff");
    Ok(created)
}

/// An account to open, its fields checked.
pub(crate) struct CheckedAccount {
    pub email: String,
    pub role: Role,
    pub name: String,
    pub profile: Profile,
}

/// Opens an account without a password, active at once (a driver with its driver
/// record, the enrolment of sign-up), and its set-password link, audited as made by
/// `by`; in the caller's transaction.
pub(crate) async fn open_account(
    tx: &Transaction<'_>,
    by: Uuid,
    account: &CheckedAccount,
) -> ApiResult<CreatedAccount> {
    let sql = format!(
        "INSERT INTO users (email, role, status, name, contact_name, company_name, phone, website)
         VALUES ($1, $2, 'ACTIVE', $3, $4, $5, $6, $7)
         RETURNING {USER_COLUMNS}"
    );
    let extra = &account.profile;
    let row = tx
        .query_typed_one(
            &sql,
            &[
                p(&account.email),
                p(&account.role),
                p(&account.name),
                p(&extra.contact_name),
                p(&extra.company_name),
                p(&extra.phone),
                p(&extra.website),
            ],
        )
        .await
        .on_constraint(EMAIL_KEY, email_taken)?;
    let user = User::from_row(&row)?;
    if user.role == Role::Driver {
        drivers::enrol(tx, user.id, user.phone.as_deref()).await?;
    }
    let token = new_token();
    let expires_at = Utc::now() + SET_PASSWORD_TTL;
    tx.execute_typed(
        "INSERT INTO password_set_tokens (user_id, token_hash, created_by, expires_at) VALUES ($1, $2, $3, $4)",
        &[p(&user.id), p(&token_hash(&token)), p(&by), p(&expires_at)],
    )
    .await?;
    audit(
        tx,
        user.id,
        AuditAction::Create,
        by,
        json!({ "role": user.role, "email": user.email }),
        None,
    )
    .await?;
    Ok(CreatedAccount {
        user,
        set_password_token: token,
        set_password_expires_at: expires_at,
    })
}

/// The unique index on users' emails.
pub(crate) const EMAIL_KEY: &str = "users_email_key";

/// A violation of [`EMAIL_KEY`], as the 409 clients expect.
pub(crate) fn email_taken() -> ApiError {
    ApiError::conflict("email_taken", "an account with this email already exists")
}

/// `POST /api/auth/set-password` as clients send it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetPassword {
    pub token: String,
    pub password: String,
}

/// Sets the password of the account a live set-password link names; the link then stops
/// working. An unknown, used or expired link is one 400, so links cannot be probed.
pub async fn set_password(state: &AppState, body: &SetPassword) -> ApiResult<()> {
    let invalid = || ApiError::bad_request("invalid_token", "the link is invalid, used or expired");
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_typed_opt(
            "SELECT t.id, t.user_id, u.email FROM password_set_tokens t JOIN users u ON u.id = t.user_id
              WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now() AND u.deleted_at IS NULL
              FOR UPDATE OF t",
            &[p(&token_hash(body.token.trim()))],
        )
        .await?
        .ok_or_else(invalid)?;
    let (token_id, user_id, email): (Uuid, Uuid, String) =
        (row.col("id")?, row.col("user_id")?, row.col("email")?);
    passwords::check_policy(&body.password, &email).map_err(|e| ApiError::validation(vec![e]))?;
    let hash = passwords::hash(&body.password).await?;
    tx.execute_typed(
        "UPDATE users SET password_hash = $2, is_temporary_password = false WHERE id = $1",
        &[p(&user_id), p(&hash)],
    )
    .await?;
    tx.execute_typed(
        "UPDATE password_set_tokens SET used_at = now() WHERE id = $1",
        &[p(&token_id)],
    )
    .await?;
    audit(
        &tx,
        user_id,
        AuditAction::PasswordSet,
        user_id,
        json!({}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What keeps an account from being deleted: its unfinished orders, and (a driver's) its
/// open deliveries.
async fn live_work(client: &impl GenericClient, user_id: Uuid) -> ApiResult<(i64, i64)> {
    let sql = format!(
        "SELECT (SELECT count(*) FROM orders WHERE user_id = $1 AND {LIVE_ORDER}) AS orders,
                (SELECT count(*) FROM drivers d WHERE d.user_id = $1
                    AND {} > 0) AS deliveries",
        drivers::roster::active_deliveries("d")
    );
    let row = client.query_typed_one(&sql, &[p(&user_id)]).await?;
    let deliveries: i64 = row.col("deliveries")?;
    Ok((row.col("orders")?, deliveries))
}

/// Refuses the deletion of an account with live work (409) and of any SUPER_ADMIN.
pub(super) async fn check_deletable(
    client: &impl GenericClient,
    user_id: Uuid,
    role: Role,
) -> ApiResult<()> {
    if role == Role::SuperAdmin {
        return Err(ApiError::forbidden(
            "a SUPER_ADMIN account is never deleted",
        ));
    }
    let (orders, deliveries) = live_work(client, user_id).await?;
    if orders > 0 || deliveries > 0 {
        return Err(ApiError::conflict(
            "account_has_live_work",
            "the account has unfinished orders or deliveries; finish or reassign them first",
        )
        .with_details(json!({ "liveOrders": orders, "openDeliveries": deliveries })));
    }
    Ok(())
}

/// Locks a soft-deleted account; its role and whether it was purged.
async fn lock_deleted(tx: &Transaction<'_>, user_id: Uuid) -> ApiResult<(Role, bool)> {
    let row = tx
        .query_typed_opt(
            "SELECT role, deleted_at IS NOT NULL AS deleted, purged_at IS NOT NULL AS purged
               FROM users WHERE id = $1 FOR UPDATE",
            &[p(&user_id)],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if !row.col::<bool>("deleted")? {
        return Err(ApiError::conflict(
            "not_deleted",
            "the account is not deleted",
        ));
    }
    Ok((row.col("role")?, row.col("purged")?))
}

/// Brings a soft-deleted account back as ACTIVE; audited. A purged one stays gone.
pub async fn restore(state: &AppState, caller: &Caller, user_id: Uuid) -> ApiResult<User> {
    caller.require(Permission::RestoreUsers)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let user = restore_in(&tx, caller, user_id).await?;
    tx.commit().await?;
    Ok(user)
}

/// [`restore`] inside the caller's transaction.
pub(crate) async fn restore_in(
    tx: &Transaction<'_>,
    caller: &Caller,
    user_id: Uuid,
) -> ApiResult<User> {
    let (role, purged) = lock_deleted(tx, user_id).await?;
    if !may_manage(caller.role, role) {
        return Err(ApiError::forbidden("you may not restore this account"));
    }
    if purged {
        return Err(ApiError::conflict(
            "purged",
            "the account was purged and cannot be restored",
        ));
    }
    let sql = format!(
        "UPDATE users SET status = 'ACTIVE', deleted_at = NULL, deleted_by = NULL, deletion_reason = NULL
          WHERE id = $1 RETURNING {USER_COLUMNS}"
    );
    let user = User::from_row(&tx.query_typed_one(&sql, &[p(&user_id)]).await?)?;
    tx.execute_typed(
        "UPDATE drivers SET is_active = true WHERE user_id = $1",
        &[p(&user_id)],
    )
    .await?;
    let changes = json!({ "status": { "from": UserStatus::Deleted, "to": UserStatus::Active } });
    audit(
        tx,
        user_id,
        AuditAction::Restore,
        caller.user_id,
        changes,
        None,
    )
    .await?;
    Ok(user)
}

/// A deleted account in the staff list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedUser {
    #[serde(flatten)]
    pub user: User,
    pub deleted_by: Option<Uuid>,
    pub deletion_reason: Option<String>,
    pub purged_at: Option<DateTime<Utc>>,
}

/// Deleted accounts, most recently deleted first, in cursor pages.
pub async fn list_deleted(
    client: &impl GenericClient,
    page: &PageRequest,
) -> ApiResult<Page<DeletedUser>> {
    let (after_time, after_id) = page.after.as_ref().map(|c| (c.at, c.id)).unzip();
    let sql = format!(
        "SELECT {USER_COLUMNS}, deleted_by, deletion_reason, purged_at FROM users
          WHERE deleted_at IS NOT NULL
            AND ($1::timestamptz IS NULL OR (deleted_at, id) < ($1, $2))
          ORDER BY deleted_at DESC, id DESC
          LIMIT $3"
    );
    let rows = client
        .query_typed(
            &sql,
            &[p(&after_time), p(&after_id), p(&page.fetch_limit())],
        )
        .await?;
    let users = rows
        .iter()
        .map(|row| {
            Ok(DeletedUser {
                user: User::from_row(row)?,
                deleted_by: row.col("deleted_by")?,
                deletion_reason: row.col("deletion_reason")?,
                purged_at: row.col("purged_at")?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(users, page, |u| Cursor {
        // Every listed account is deleted.
        at: u.user.deleted_at.unwrap_or(u.user.created_at),
        id: u.user.id,
    }))
}

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
    "UPDATE user_addresses SET alias = NULL WHERE user_id = $1",
    "UPDATE addresses SET name = NULL, street1 = '(removed)', street2 = NULL, zip = NULL,
            county = NULL, location_number = NULL, parking_loading = NULL, location = NULL
      WHERE created_by = $1 AND NOT is_shared",
    "UPDATE orders SET client_attention = NULL, pickup_notes = NULL, special_notes = NULL,
            cancellation_reason = NULL, metadata = '{}'::jsonb
      WHERE user_id = $1",
    "UPDATE order_status_history SET note = NULL
      WHERE order_id IN (SELECT id FROM orders WHERE user_id = $1) OR actor_id = $1",
    "UPDATE deliveries SET delivery_notes = NULL, proof_of_delivery = NULL
      WHERE order_id IN (SELECT id FROM orders WHERE user_id = $1)
         OR driver_id IN (SELECT id FROM drivers WHERE user_id = $1)",
    "UPDATE outbox SET payload = '{\"removed\": \"personal data purged\"}'::jsonb
      WHERE order_id IN (SELECT id FROM orders WHERE user_id = $1)
        AND (kind = 'CUSTOMER_EMAIL' OR status <> 'PENDING')",
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
    let reason = Validator::validate(|v| {
        v.check(
            body.confirmed,
            "confirmed",
            "must be true: purging cannot be undone",
        );
        let reason = crate::input::bounded_text("reason", &body.reason, 10, 500, Lines::One);
        v.take(reason)
    })?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let (_, purged) = lock_deleted(&tx, user_id).await?;
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
    let personal = PersonalData::from_row(&row)?;
    // Driver applications made under the account or its email, and their documents.
    let application_files =
        super::applications::purge_applicant(&tx, user_id, &personal.email).await?;
    // Each statement clears named columns of rows that belong to the account (by
    // `user_id`, `created_by` or its orders and deliveries): never a sweep over other
    // accounts' rows, where a value like the purged email may stand inside another.
    for statement in PURGE_STATEMENTS {
        tx.execute_typed(statement, &[p(&user_id)]).await?;
    }
    // Dispatch notes on orders the account drove ("assigned to <name>") are other
    // customers' orders: only the notes that name the driver are cleared.
    if let Some(name) = personal
        .name
        .as_deref()
        .filter(|n| n.trim().chars().count() >= 3)
    {
        tx.execute_typed(
            "UPDATE order_status_history h SET note = NULL
              WHERE strpos(h.note, $2) > 0
                AND h.order_id IN (SELECT ds.order_id FROM dispatches ds JOIN drivers d ON d.id = ds.driver_id
                                    WHERE d.user_id = $1)",
            &[p(&user_id), p(&name.to_owned())],
        )
        .await?;
    }
    super::cut_off_sessions(&tx, user_id, None).await?;
    let mut files = crate::uploads::remove::purge_owner(&tx, user_id).await?;
    files.extend(application_files);
    audit(
        &tx,
        user_id,
        AuditAction::Purge,
        caller.user_id,
        json!({}),
        Some(reason.as_str()),
    )
    .await?;
    let purged_at: DateTime<Utc> = tx
        .query_typed_one("SELECT purged_at FROM users WHERE id = $1", &[p(&user_id)])
        .await?
        .col("purged_at")?;
    tx.commit().await?;
    let files_removed = crate::uploads::remove::delete_objects(state, &files).await;
    let sessions_ended = sessions::revoke_all_of(state, user_id, None).await?;
    tracing::info!(user_id = %user_id, by = %caller.user_id, files_removed, sessions_ended, "account purged");
    Ok(Purged {
        user_id,
        purged_at,
        files_removed,
        sessions_ended,
    })
}

/// The field error a wrong current password gives.
pub fn wrong_password() -> ApiError {
    ApiError::validation(vec![FieldError::new(
        "currentPassword",
        "is not the account's password",
    )])
}
