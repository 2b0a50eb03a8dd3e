//! Sessions in DynamoDB, with rotating refresh tokens.
//!
//! A session is one login. Its refresh token is `<session id>.<secret>`; only its SHA-256
//! is stored. The first secret is random; each later token is derived from the one it
//! replaces with a server key (HMAC), so the tokens of a session form a chain that only
//! the server can extend. Each refresh swaps the stored hash for the next one in one
//! conditional write. That gives, with a session item of fixed size:
//!
//! - two tabs refreshing the same token at once both get the same next token, within
//!   [`crate::config::AuthSettings::refresh_reuse_grace`] of the swap;
//! - any older token of the chain presented later (a stolen copy racing its owner) is
//!   recognised by walking the chain forward, and revokes the whole session.
//!
//! Items expire through DynamoDB TTL; reads also check the expiry because TTL deletion
//! lags.

use aws_sdk_dynamodb::types::AttributeValue;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{rbac::Role, tokens::JwtKeys};
use crate::{
    dynamo::{self, Item},
    error::ApiError,
    AppState,
};

/// How far back along a session's chain a reused token is still recognised: a thousand
/// rotations is over ten days of continuous use with 15-minute access tokens.
const MAX_CHAIN_WALK: i64 = 1_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub revoked: bool,
    /// When it began (whole seconds).
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Session {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        !self.revoked && self.expires_at > now
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("the refresh token is invalid or expired")]
    Invalid,
    #[error("the refresh token was already used; the session is revoked")]
    Reused,
    #[error(transparent)]
    Store(#[from] ApiError),
}

/// The key of an item of the app table.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Key {
    pk: String,
    sk: String,
}

/// A session as stored: `SESSION#<id>` / `SESSION`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionItem {
    pk: String,
    sk: String,
    user_id: Uuid,
    role: Role,
    /// SHA-256 of the current refresh token.
    refresh_hash: String,
    /// The hash it replaced, and when (seconds), for the grace of a concurrent refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rotated_at: Option<i64>,
    /// Rotations so far: how far back a reused token is looked for.
    #[serde(default)]
    generation: i64,
    /// A missing flag reads as revoked.
    #[serde(default = "revoked_when_unknown")]
    revoked: bool,
    /// Seconds; sessions stored before it was written count as begun at the epoch, so any
    /// cutoff ends them.
    #[serde(default)]
    created_at: i64,
    /// Seconds (the table's TTL attribute).
    expires_at: i64,
}

fn revoked_when_unknown() -> bool {
    true
}

impl SessionItem {
    fn session(&self, id: Uuid) -> Option<Session> {
        Some(Session {
            id,
            user_id: self.user_id,
            role: self.role,
            revoked: self.revoked,
            created_at: DateTime::from_timestamp(self.created_at, 0)?,
            expires_at: DateTime::from_timestamp(self.expires_at, 0)?,
        })
    }
}

/// A session listed under its account: `USER_SESSIONS#<user id>` / `SESSION#<id>`,
/// expiring with the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegistryItem {
    pk: String,
    sk: String,
    expires_at: i64,
}

fn key(session_id: Uuid) -> Result<Item, ApiError> {
    dynamo::to_item(&Key {
        pk: format!("SESSION#{session_id}"),
        sk: "SESSION".to_owned(),
    })
}

fn store_error(err: impl Into<crate::error::BoxError>) -> ApiError {
    ApiError::service_unavailable("the session store is unavailable")
        .in_category(crate::error::Category::ExternalService)
        .with_source(err)
}

fn new_refresh_token(session_id: Uuid) -> String {
    let secret: [u8; 32] = rand::rng().random();
    format!("{session_id}.{}", URL_SAFE_NO_PAD.encode(secret))
}

/// The token that replaces `token` in its session's chain.
fn successor(keys: &JwtKeys, session_id: Uuid, token: &str) -> String {
    format!(
        "{session_id}.{}",
        URL_SAFE_NO_PAD.encode(keys.refresh_chain_mac(token.as_bytes()))
    )
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The session id a refresh token names, if it is shaped like one of ours.
pub fn session_of(token: &str) -> Option<Uuid> {
    let (id, secret) = token.split_once('.')?;
    if secret.len() != 43 {
        return None;
    }
    crate::input::parse_uuid("refreshToken", id).ok()
}

/// Starts a session; returns it and its first refresh token.
#[tracing::instrument(name = "create_session", skip_all, fields(%user_id))]
pub async fn create(
    state: &AppState,
    user_id: Uuid,
    role: Role,
) -> Result<(Session, String), ApiError> {
    let now = Utc::now();
    let session = Session {
        id: Uuid::new_v4(),
        user_id,
        role,
        revoked: false,
        created_at: DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now),
        expires_at: now + state.config.auth.refresh_ttl,
    };
    let token = new_refresh_token(session.id);
    let item = dynamo::to_item(&SessionItem {
        pk: format!("SESSION#{}", session.id),
        sk: "SESSION".to_owned(),
        user_id,
        role,
        refresh_hash: token_hash(&token),
        previous_hash: None,
        rotated_at: None,
        generation: 0,
        revoked: false,
        created_at: now.timestamp(),
        expires_at: session.expires_at.timestamp(),
    })?;
    state
        .dynamodb
        .put_item()
        .table_name(&state.config.resources.app_table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map_err(store_error)?;
    register(state, &session).await?;
    Ok((session, token))
}

fn registry_pk(user_id: Uuid) -> String {
    format!("USER_SESSIONS#{user_id}")
}

fn registry_key(user_id: Uuid, session_id: Uuid) -> Result<Item, ApiError> {
    dynamo::to_item(&Key {
        pk: registry_pk(user_id),
        sk: format!("SESSION#{session_id}"),
    })
}

/// Lists a session under its account (one item each, expiring with the session), which
/// lets a password change or a purge end every session of the account at once (sessions
/// are keyed by their own id).
async fn register(state: &AppState, session: &Session) -> Result<(), ApiError> {
    let item = dynamo::to_item(&RegistryItem {
        pk: registry_pk(session.user_id),
        sk: format!("SESSION#{}", session.id),
        expires_at: session.expires_at.timestamp(),
    })?;
    state
        .dynamodb
        .put_item()
        .table_name(&state.config.resources.app_table)
        .set_item(Some(item))
        .send()
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Ends every session of an account but `keep` (the caller's own, after a password
/// change); returns how many it ended.
#[tracing::instrument(name = "revoke_sessions_of", skip(state))]
pub async fn revoke_all_of(
    state: &AppState,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> Result<usize, ApiError> {
    let table = &state.config.resources.app_table;
    let mut pages = state
        .dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", dynamo::text(registry_pk(user_id)))
        .consistent_read(true)
        .into_paginator()
        .send();
    let mut ended = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(store_error)?;
        for item in page.items() {
            let listed: RegistryItem = dynamo::from_item(item)?;
            let Some(session_id) = listed
                .sk
                .strip_prefix("SESSION#")
                .and_then(|id| Uuid::parse_str(id).ok())
            else {
                continue;
            };
            if Some(session_id) == keep {
                continue;
            }
            revoke(state, session_id).await?;
            state
                .dynamodb
                .delete_item()
                .table_name(table)
                .set_key(Some(registry_key(user_id, session_id)?))
                .send()
                .await
                .map_err(store_error)?;
            ended += 1;
        }
    }
    Ok(ended)
}

/// The session as stored (strongly consistent, so a revocation is seen at once).
#[tracing::instrument(name = "read_session", skip(state))]
pub async fn get(state: &AppState, session_id: Uuid) -> Result<Option<Session>, ApiError> {
    Ok(read(state, session_id)
        .await?
        .and_then(|item| item.session(session_id)))
}

/// A stored item as a session item; one of another shape counts as no session.
fn parse(item: &Item) -> Option<SessionItem> {
    dynamo::from_item(item)
        .inspect_err(|e| tracing::warn!(error = %e, "unreadable session item"))
        .ok()
}

/// Swaps a refresh token for the next one of its chain. The token swapped moments ago
/// gets the same next token again; any older one revokes the session.
#[tracing::instrument(name = "rotate_session", skip_all)]
pub async fn rotate(state: &AppState, presented: &str) -> Result<(Session, String), RefreshError> {
    let session_id = session_of(presented).ok_or(RefreshError::Invalid)?;
    let keys = state.jwt().await?;
    let now = Utc::now();
    let old_hash = token_hash(presented);
    let next = successor(&keys, session_id, presented);
    let next_hash = token_hash(&next);
    let updated = state
        .dynamodb
        .update_item()
        .table_name(&state.config.resources.app_table)
        .set_key(Some(key(session_id)?))
        .update_expression(
            "SET refreshHash = :next, previousHash = :old, rotatedAt = :now ADD generation :one",
        )
        .condition_expression("refreshHash = :old AND revoked = :false AND expiresAt > :now")
        .expression_attribute_values(":next", dynamo::text(next_hash.clone()))
        .expression_attribute_values(":old", dynamo::text(old_hash.clone()))
        .expression_attribute_values(":one", dynamo::number(1))
        .expression_attribute_values(":false", AttributeValue::Bool(false))
        .expression_attribute_values(":now", dynamo::number(now.timestamp()))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
        .send()
        .await;
    match updated {
        Ok(output) => {
            let session = output
                .attributes()
                .and_then(parse)
                .and_then(|item| item.session(session_id))
                .ok_or(RefreshError::Invalid)?;
            Ok((session, next))
        }
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            let Some(item) = read(state, session_id).await? else {
                return Err(RefreshError::Invalid);
            };
            let Some(session) = item.session(session_id).filter(|s| s.is_live(now)) else {
                return Err(RefreshError::Invalid);
            };
            let current = &item.refresh_hash;
            let just_swapped = item.previous_hash.as_deref() == Some(old_hash.as_str())
                && *current == next_hash
                && item.rotated_at.is_some_and(|at| {
                    now.timestamp() - at < state.config.auth.refresh_reuse_grace.num_seconds()
                });
            if just_swapped {
                return Ok((session, next));
            }
            let generation = item.generation.min(MAX_CHAIN_WALK);
            if is_ancestor(&keys, session_id, presented, current, generation) {
                revoke(state, session_id).await?;
                tracing::warn!(session_id = %session_id, "refresh token reused: session revoked");
                return Err(RefreshError::Reused);
            }
            Err(RefreshError::Invalid)
        }
        Err(err) => Err(store_error(err).into()),
    }
}

/// Whether `presented` is an earlier token of the chain whose current hash is `current`.
fn is_ancestor(
    keys: &JwtKeys,
    session_id: Uuid,
    presented: &str,
    current: &str,
    generation: i64,
) -> bool {
    let mut token = presented.to_owned();
    for _ in 0..generation {
        token = successor(keys, session_id, &token);
        if token_hash(&token) == current {
            return true;
        }
    }
    false
}

async fn read(state: &AppState, session_id: Uuid) -> Result<Option<SessionItem>, ApiError> {
    let output = state
        .dynamodb
        .get_item()
        .table_name(&state.config.resources.app_table)
        .set_key(Some(key(session_id)?))
        .consistent_read(true)
        .send()
        .await
        .map_err(store_error)?;
    Ok(output.item().and_then(parse))
}

/// Ends a session: its refresh token stops working at once, its access tokens as soon as
/// the authorizer re-checks them.
#[tracing::instrument(name = "revoke_session", skip(state))]
pub async fn revoke(state: &AppState, session_id: Uuid) -> Result<(), ApiError> {
    let result = state
        .dynamodb
        .update_item()
        .table_name(&state.config.resources.app_table)
        .set_key(Some(key(session_id)?))
        .update_expression("SET revoked = :true")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":true", AttributeValue::Bool(true))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(())
        }
        Err(err) => Err(store_error(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_name_their_session() {
        let id = Uuid::new_v4();
        let token = new_refresh_token(id);
        assert_eq!(session_of(&token), Some(id));
        assert_ne!(new_refresh_token(id), token);
        for bad in [
            "",
            "x.y",
            &format!("{id}"),
            &format!("{id}.short"),
            &format!("{}.{}", id.to_string().to_uppercase(), "a".repeat(43)),
        ] {
            assert_eq!(session_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_token_derives_the_next_and_only_the_server_can() {
        let keys = JwtKeys::new(&[7u8; 32], "i", "a", chrono::Duration::minutes(1)).expect("keys");
        let other = JwtKeys::new(&[8u8; 32], "i", "a", chrono::Duration::minutes(1)).expect("keys");
        let id = Uuid::new_v4();
        let first = new_refresh_token(id);
        let second = successor(&keys, id, &first);
        assert_eq!(successor(&keys, id, &first), second, "deterministic");
        assert_ne!(successor(&other, id, &first), second, "keyed");
        assert_eq!(session_of(&second), Some(id), "shaped like any token");
        let third = successor(&keys, id, &second);
        assert!(is_ancestor(&keys, id, &first, &token_hash(&third), 5));
        assert!(!is_ancestor(&keys, id, &third, &token_hash(&first), 5));
        assert!(
            !is_ancestor(&keys, id, &first, &token_hash(&third), 1),
            "walk bounded"
        );
    }

    #[test]
    fn only_hashes_are_stored() {
        let token = new_refresh_token(Uuid::new_v4());
        let hash = token_hash(&token);
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(token.split('.').nth(1).expect("secret")));
    }
}
