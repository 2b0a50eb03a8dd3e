//! One's own account (`/api/profile`): read it, edit its fields, change its email or its
//! password. Either change needs the current password; a new email must be free; a new
//! password ends every other session of the account.

use serde::Deserialize;
use serde_json::json;

use uuid::Uuid;

use super::{
    audit,
    lifecycle::{email_taken, EMAIL_KEY},
    normalize_email, profile, AuditAction, Profile, ProfileInput, User, USER_COLUMNS,
};
use crate::{
    auth::{passwords, sessions, Caller, Permission},
    db::{p, FromRow, OnConstraint, RowExt, Transaction},
    error::{ApiError, ApiResult},
    AppState,
};

/// `PUT /api/profile` as clients send it; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OwnProfileUpdate {
    pub name: Option<String>,
    pub contact_name: Option<String>,
    pub company_name: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub email: Option<String>,
    /// Needed to change the email or the password.
    pub current_password: Option<String>,
    pub new_password: Option<String>,
}

/// What a profile edit did beyond the fields.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnProfileUpdated {
    pub user: User,
    /// Other sessions ended by a password change.
    pub sessions_ended: usize,
}

/// The caller's own account.
pub async fn get(state: &AppState, caller: &Caller) -> ApiResult<User> {
    caller.require(Permission::OwnAccount)?;
    let client = state.db.get().await?;
    super::find(&*client, caller.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the account is gone"))
}

/// Edits the caller's own account (never its role or status). A request that presents
/// the current password counts against the account's sign-in budget (5 a minute), so a
/// stolen access token cannot be used to guess the password here.
pub async fn update(
    state: &AppState,
    drawn: Option<&crate::ratelimit::Drawn>,
    caller: &Caller,
    edit: &OwnProfileUpdate,
) -> ApiResult<OwnProfileUpdated> {
    caller.require(Permission::OwnAccount)?;
    let (fields, email) = check_edit(edit)?;
    if edit.current_password.is_some() {
        crate::ratelimit::charge(
            state,
            drawn,
            crate::ratelimit::RateClass::SignInAccount,
            &format!("password-check:{}", caller.user_id),
        )
        .await?;
    }
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let stored = lock_own(&tx, caller.user_id).await?;
    let new_hash = check_passwords(edit, &stored, email.as_deref()).await?;
    let user = save(
        &tx,
        caller.user_id,
        &fields,
        email.as_deref(),
        new_hash.as_deref(),
    )
    .await?;
    let password_changed = new_hash.is_some();
    record_sensitive_changes(
        &tx,
        caller,
        &stored.email,
        email.as_deref(),
        password_changed,
    )
    .await?;
    tx.commit().await?;
    // The session store is not the database: it is told after the commit, so a change
    // that rolled back has ended no session.
    let sessions_ended = if password_changed {
        sessions::revoke_all_of(state, user.id, Some(caller.session_id)).await?
    } else {
        0
    };
    Ok(OwnProfileUpdated {
        user,
        sessions_ended,
    })
}

/// Audits a changed email (from and to) and a changed password. A changed password also
/// cuts off the account's other sessions in this transaction, so they end with the
/// change even if revoking them in the session store afterwards fails.
async fn record_sensitive_changes(
    tx: &Transaction<'_>,
    caller: &Caller,
    old_email: &str,
    new_email: Option<&str>,
    password_changed: bool,
) -> ApiResult<()> {
    if let Some(email) = new_email.filter(|e| *e != old_email) {
        let changes = json!({ "email": { "from": old_email, "to": email } });
        audit(
            tx,
            caller.user_id,
            AuditAction::EmailChange,
            caller.user_id,
            changes,
            None,
        )
        .await?;
    }
    if password_changed {
        let changes = json!({});
        audit(
            tx,
            caller.user_id,
            AuditAction::PasswordChange,
            caller.user_id,
            changes,
            None,
        )
        .await?;
        super::cut_off_sessions(tx, caller.user_id, Some(caller.session_id)).await?;
    }
    Ok(())
}

/// Checks the edit's fields and new email (normalized), and that a change of the email
/// or the password comes with the current password; every problem at once.
fn check_edit(edit: &OwnProfileUpdate) -> ApiResult<(Profile, Option<String>)> {
    crate::input::Validator::validate(|v| {
        let fields = profile(
            v,
            ProfileInput {
                name: edit.name.as_deref(),
                contact_name: edit.contact_name.as_deref(),
                company_name: edit.company_name.as_deref(),
                phone: edit.phone.as_deref(),
                website: edit.website.as_deref(),
            },
        );
        let email = match edit.email.as_deref() {
            Some(raw) => Some(v.take(normalize_email(raw))?),
            None => None,
        };
        let sensitive = email.is_some() || edit.new_password.is_some();
        v.check(
            !sensitive || edit.current_password.is_some(),
            "currentPassword",
            "is required to change the email or the password",
        );
        Some((fields, email))
    })
}

/// The account's email and password hash as stored, read under lock so the checks below
/// and the update see the same row.
struct Stored {
    email: String,
    password_hash: Option<String>,
}

/// Locks the caller's live account; a deleted one is the 401 of a gone account.
#[tracing::instrument(name = "lock_own_account", skip_all, fields(%user_id))]
async fn lock_own(tx: &Transaction<'_>, user_id: Uuid) -> ApiResult<Stored> {
    let row = tx
        .query_typed_opt(
            "SELECT email, password_hash FROM users WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
            &[p(&user_id)],
        )
        .await?
        .ok_or_else(|| ApiError::unauthorized("the account is gone"))?;
    Ok(Stored {
        email: row.col("email")?,
        password_hash: row.col("password_hash")?,
    })
}

/// Verifies the current password when one is given, and hashes the new password (checked
/// against the policy with the account's email, the new one if it changes too).
async fn check_passwords(
    edit: &OwnProfileUpdate,
    stored: &Stored,
    new_email: Option<&str>,
) -> ApiResult<Option<String>> {
    if let Some(current) = edit.current_password.as_deref() {
        if !passwords::verify(current, stored.password_hash.as_deref()).await? {
            return Err(super::lifecycle::wrong_password());
        }
    }
    let Some(password) = edit.new_password.as_deref() else {
        return Ok(None);
    };
    let email = new_email.unwrap_or(&stored.email);
    passwords::check_policy(password, email).map_err(|e| ApiError::validation(vec![e]))?;
    Ok(Some(passwords::hash(password).await?))
}

/// Writes the given fields (absent ones stay); a new password clears the temporary flag.
/// A taken email is the 409 clients expect.
#[tracing::instrument(name = "save_own_account", skip_all, fields(%user_id))]
async fn save(
    tx: &Transaction<'_>,
    user_id: Uuid,
    fields: &Profile,
    email: Option<&str>,
    new_hash: Option<&str>,
) -> ApiResult<User> {
    let sql = format!(
        "UPDATE users SET
            name = COALESCE($2, name),
            contact_name = COALESCE($3, contact_name),
            company_name = COALESCE($4, company_name),
            phone = COALESCE($5, phone),
            website = COALESCE($6, website),
            email = COALESCE($7, email),
            password_hash = COALESCE($8, password_hash),
            is_temporary_password = is_temporary_password AND $8::text IS NULL
         WHERE id = $1
         RETURNING {USER_COLUMNS}"
    );
    let row = tx
        .query_typed_one(
            &sql,
            &[
                p(&user_id),
                p(&fields.name),
                p(&fields.contact_name),
                p(&fields.company_name),
                p(&fields.phone),
                p(&fields.website),
                p(&email),
                p(&new_hash),
            ],
        )
        .await
        .on_constraint(EMAIL_KEY, email_taken)?;
    User::from_row(&row)
}
