//! One's own account (`/api/profile`): read it, edit its fields, change its email or its
//! password. Either change needs the current password; a new email must be free; a new
//! password ends every other session of the account.

use serde::Deserialize;
use serde_json::json;

use super::{
    audit,
    lifecycle::{email_taken, EMAIL_KEY},
    normalize_email, profile, AuditAction, ProfileInput, User, USER_COLUMNS,
};
use crate::{
    auth::{passwords, sessions, Caller, Permission},
    db::{p, FromRow, OnConstraint, RowExt},
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
    let (fields, email) = crate::input::Validator::validate(|v| {
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
    })?;
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
    let row = tx
        .query_typed_opt(
            "SELECT email, password_hash FROM users WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
            &[p(&caller.user_id)],
        )
        .await?
        .ok_or_else(|| ApiError::unauthorized("the account is gone"))?;
    let current_email: String = row.col("email")?;
    let stored_hash: Option<String> = row.col("password_hash")?;
    if let Some(current) = edit.current_password.as_deref() {
        if !passwords::verify(current, stored_hash.as_deref()).await? {
            return Err(super::lifecycle::wrong_password());
        }
    }
    let new_hash = match edit.new_password.as_deref() {
        Some(password) => {
            let email = email.as_deref().unwrap_or(&current_email);
            passwords::check_policy(password, email).map_err(|e| ApiError::validation(vec![e]))?;
            Some(passwords::hash(password).await?)
        }
        None => None,
    };
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
                p(&caller.user_id),
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
    let user = User::from_row(&row)?;
    if let Some(email) = email.as_ref().filter(|e| **e != current_email) {
        audit(
            &tx,
            user.id,
            AuditAction::EmailChange,
            caller.user_id,
            json!({ "email": { "from": current_email, "to": email } }),
            None,
        )
        .await?;
    }
    if new_hash.is_some() {
        audit(
            &tx,
            user.id,
            AuditAction::PasswordChange,
            caller.user_id,
            json!({}),
            None,
        )
        .await?;
        super::cut_off_sessions(&tx, user.id, Some(caller.session_id)).await?;
    }
    tx.commit().await?;
    let sessions_ended = match new_hash {
        Some(_) => sessions::revoke_all_of(state, user.id, Some(caller.session_id)).await?,
        None => 0,
    };
    Ok(OwnProfileUpdated {
        user,
        sessions_ended,
    })
}
