//! User accounts: the rows, the public view of them, and the lookups several functions
//! share (sign-in, the authorizer, profile routes).

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::{GenericClient, Row};
use uuid::Uuid;

use crate::{
    auth::{Role, UserStatus},
    db::p,
    error::{ApiError, ApiResult, FieldError},
};

/// Columns read into [`User`], in its field order.
pub const USER_COLUMNS: &str = "id, email, role, status, name, contact_name, company_name, phone, \
     website, created_at, updated_at, deleted_at";

/// An account as clients see it (never the password hash).
#[derive(Debug, Clone, Serialize, PartialEq)]
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
    /// Reads a row selected with [`USER_COLUMNS`].
    pub fn from_row(row: &Row) -> ApiResult<Self> {
        let role: String = row.get(2);
        let status: String = row.get(3);
        Ok(Self {
            id: row.get(0),
            email: row.get(1),
            role: role.parse().map_err(ApiError::internal)?,
            status: status.parse().map_err(ApiError::internal)?,
            name: row.get(4),
            contact_name: row.get(5),
            company_name: row.get(6),
            phone: row.get(7),
            website: row.get(8),
            created_at: row.get(9),
            updated_at: row.get(10),
            deleted_at: row.get(11),
        })
    }

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
        Some(row) => Ok(Some((User::from_row(&row)?, row.get(12)))),
        None => Ok(None),
    }
}

/// Records an administrative change to an account.
pub async fn audit(
    client: &impl GenericClient,
    user_id: Uuid,
    action: &str,
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
