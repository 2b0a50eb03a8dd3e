//! User accounts: the rows, the public view of them, the lookups several functions share
//! (sign-in, the authorizer, profile routes), sign-up, and (in [`admin`]) what staff do
//! with accounts.

pub mod admin;
pub mod applications;
pub mod bulk;
pub mod history;
pub mod lifecycle;
pub mod own;

use lifecycle::{email_taken, EMAIL_KEY};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::{passwords, Role, UserStatus},
    db::{p, FromRow, GenericClient, OnConstraint, RowExt},
    drivers,
    error::{ApiError, ApiResult, FieldError},
    input::{Lines, Validator},
    AppState,
};

/// Columns read into [`User`].
pub const USER_COLUMNS: &str = "id, email, role, status, name, contact_name, company_name, phone, \
     website, created_at, updated_at, deleted_at";

/// An account as clients see it (never the password hash).
#[derive(Debug, Clone, Serialize, PartialEq, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: Uuid,
    pub email: String,
    /// `type` in the original API.
    #[serde(rename = "type")]
    pub role: Role,
    pub status: UserStatus,
    pub name: Option<String>,
    pub contact_name: Option<String>,
    pub company_name: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl User {
    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active && self.deleted_at.is_none()
    }
}

/// Trims and lower-cases an email and checks its shape: one `@`, a dotted domain, no
/// spaces, at most 254 characters.
pub fn normalize_email(raw: &str) -> Result<String, FieldError> {
    let email = raw.trim().to_lowercase();
    let invalid = || FieldError::new("email", "must be a valid email address");
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !domain.contains('@');
    if local.is_empty() || local.len() > 64 || !domain_ok {
        return Err(invalid());
    }
    Ok(email)
}

/// A live (not soft-deleted) account by id.
pub async fn find(client: &impl GenericClient, id: Uuid) -> ApiResult<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL");
    client
        .query_typed_opt(&sql, &[p(&id)])
        .await?
        .map(|row| User::from_row(&row))
        .transpose()
}

/// The account and its password hash, for sign-in.
pub async fn find_for_login(
    client: &impl GenericClient,
    email: &str,
) -> ApiResult<Option<(User, Option<String>)>> {
    let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1");
    match client.query_typed_opt(&sql, &[p(&email)]).await? {
        Some(row) => Ok(Some((User::from_row(&row)?, row.col("password_hash")?))),
        None => Ok(None),
    }
}

/// A sign-up as clients send it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Signup {
    pub email: String,
    pub password: String,
    /// `type` in the original API.
    #[serde(alias = "type")]
    pub role: Role,
    pub name: String,
    pub contact_name: Option<String>,
    pub company_name: Option<String>,
    pub phone: Option<String>,
}

/// The longest name an account may have.
pub const NAME_MAX: usize = 120;

/// An account's profile fields as clients send them (sign-up, profile edits).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProfileInput<'a> {
    pub name: Option<&'a str>,
    pub contact_name: Option<&'a str>,
    pub company_name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub website: Option<&'a str>,
}

/// Profile fields after the checks every route applies; `None` is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub name: Option<String>,
    pub contact_name: Option<String>,
    pub company_name: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
}

pub fn profile(v: &mut Validator, input: ProfileInput<'_>) -> Profile {
    Profile {
        name: v.optional_text("name", input.name, NAME_MAX, Lines::One),
        contact_name: v.optional_text("contactName", input.contact_name, 120, Lines::One),
        company_name: v.optional_text("companyName", input.company_name, 200, Lines::One),
        phone: v.optional_text("phone", input.phone, 32, Lines::One),
        website: v.optional_text("website", input.website, 300, Lines::One),
    }
}

struct CheckedSignup {
    email: String,
    name: String,
    profile: Profile,
}

/// Creates a CLIENT, VENDOR or DRIVER account (never a staff one). Clients and vendors can
/// sign in at once; drivers start PENDING until staff approve them, with their driver
/// record made in the same transaction.
pub async fn register(state: &AppState, body: &Signup) -> ApiResult<User> {
    let checked = Validator::validate(|v| {
        let email = v.take(normalize_email(&body.email));
        if let Some(email) = &email {
            if let Err(e) = passwords::check_policy(&body.password, email) {
                v.push(e);
            }
        }
        v.check(
            body.role.is_self_service(),
            "role",
            "must be CLIENT, VENDOR or DRIVER",
        );
        let name = v.text("name", &body.name, NAME_MAX);
        let profile = profile(
            v,
            ProfileInput {
                contact_name: body.contact_name.as_deref(),
                company_name: body.company_name.as_deref(),
                phone: body.phone.as_deref(),
                ..ProfileInput::default()
            },
        );
        Some(CheckedSignup {
            email: email?,
            name: name?,
            profile,
        })
    })?;
    let password_hash = passwords::hash(&body.password).await?;
    let status = if body.role == Role::Driver {
        UserStatus::Pending
    } else {
        UserStatus::Active
    };
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let sql = format!(
        "INSERT INTO users (email, password_hash, role, status, name, contact_name, company_name, phone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING {USER_COLUMNS}"
    );
    let row = tx
        .query_typed_one(
            &sql,
            &[
                p(&checked.email),
                p(&password_hash),
                p(&body.role),
                p(&status),
                p(&checked.name),
                p(&checked.profile.contact_name),
                p(&checked.profile.company_name),
                p(&checked.profile.phone),
            ],
        )
        .await
        .on_constraint(EMAIL_KEY, email_taken)?;
    let user = User::from_row(&row)?;
    if user.role == Role::Driver {
        drivers::enrol(&tx, user.id, user.phone.as_deref()).await?;
    }
    tx.commit().await?;
    tracing::info!(user_id = %user.id, role = %user.role, "account created");
    Ok(user)
}

/// Whether the account ended `session` by a cutoff (a password change made elsewhere, a
/// purge): it began before `sessions_valid_after` and is not the session kept.
pub async fn session_cut_off(
    client: &impl GenericClient,
    session: &crate::auth::sessions::Session,
) -> ApiResult<bool> {
    let row = client
        .query_typed_opt(
            "SELECT sessions_valid_after, sessions_kept FROM users WHERE id = $1",
            &[p(&session.user_id)],
        )
        .await?;
    let Some(row) = row else { return Ok(true) };
    let valid_after: Option<DateTime<Utc>> = row.col("sessions_valid_after")?;
    let kept: Option<Uuid> = row.col("sessions_kept")?;
    Ok(valid_after.is_some_and(|cutoff| session.created_at < cutoff) && kept != Some(session.id))
}

/// Ends, in `client`'s transaction, every session of the account begun before now but
/// `keep`; the registry revocation after commit also stops their refresh tokens at once.
pub async fn cut_off_sessions(
    client: &impl GenericClient,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> ApiResult<()> {
    client
        .execute_typed(
            "UPDATE users SET sessions_valid_after = date_trunc('second', now()), sessions_kept = $2 WHERE id = $1",
            &[p(&user_id), p(&keep)],
        )
        .await?;
    Ok(())
}

crate::text_enum::text_enum! {
    /// What an audit row records.
        pub enum AuditAction("audit action") {
        Create = "CREATE",
        Update = "UPDATE",
        Delete = "DELETE",
        Restore = "RESTORE",
        Purge = "PURGE",
        RoleChange = "ROLE_CHANGE",
        EmailChange = "EMAIL_CHANGE",
        PasswordChange = "PASSWORD_CHANGE",
        PasswordSet = "PASSWORD_SET",
    }
}

/// Records an administrative change to an account.
pub async fn audit(
    client: &impl GenericClient,
    user_id: Uuid,
    action: AuditAction,
    performed_by: Uuid,
    changes: serde_json::Value,
    reason: Option<&str>,
) -> ApiResult<()> {
    client
        .execute_typed(
            "INSERT INTO user_audits (user_id, action, performed_by, changes, reason) VALUES ($1, $2, $3, $4, $5)",
            &[p(&user_id), p(&action), p(&performed_by), p(&changes), p(&reason)],
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email("  Ann.Lee@Example.COM ").expect("valid"),
            "ann.lee@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "ann@@example.com",
            "a n@example.com",
            "ann@example..com",
            "ann@.example.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
        assert!(normalize_email(&format!("{}@example.com", "a".repeat(65))).is_err());
    }
}

/// `GET /api/auth/session`: who is signed in, as the driver app reads it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionView {
    pub user: SessionUser,
    /// When the session ends unless refreshed.
    pub expires: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionUser {
    pub id: Uuid,
    pub email: String,
    #[serde(rename = "type")]
    pub role: Role,
    /// The driver record of a DRIVER account (what the driver app posts as `driverId`).
    pub driver_id: Option<Uuid>,
    pub name: Option<String>,
}

pub async fn session_view(
    state: &AppState,
    caller: &crate::auth::rbac::Caller,
) -> ApiResult<SessionView> {
    let session = crate::auth::sessions::get(state, caller.session_id)
        .await?
        .filter(|s| s.is_live(Utc::now()))
        .ok_or_else(|| ApiError::unauthorized("the session has ended; sign in again"))?;
    let client = state.db.get().await?;
    let user = find(&*client, caller.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the account is gone"))?;
    let driver_id = match user.role {
        Role::Driver => drivers::driver_id_of(&*client, user.id).await?,
        _ => None,
    };
    Ok(SessionView {
        user: SessionUser {
            id: user.id,
            email: user.email,
            role: user.role,
            driver_id,
            name: user.name,
        },
        expires: session.expires_at,
    })
}
