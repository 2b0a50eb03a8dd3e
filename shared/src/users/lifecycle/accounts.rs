//! Accounts made by staff: opened active without a password, with a one-time
//! set-password link whose hash alone is stored; and setting the password by that link.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    auth::{passwords, Caller, Permission, Role},
    db::{p, FromRow, OnConstraint, RowExt, Transaction},
    drivers,
    error::{ApiError, ApiResult, FieldError},
    input::Validator,
    users::{
        audit, normalize_email, profile, AuditAction, Profile, ProfileInput, User, NAME_MAX,
        USER_COLUMNS,
    },
    AppState,
};

/// How long a set-password link works.
pub const SET_PASSWORD_TTL: Duration = Duration::hours(72);

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

/// The field error a wrong current password gives.
pub fn wrong_password() -> ApiError {
    ApiError::validation(vec![FieldError::new(
        "currentPassword",
        "is not the account's password",
    )])
}
