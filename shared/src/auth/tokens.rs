//! Access tokens: short-lived HS256 JWTs with the algorithm, issuer and audience pinned.
//! The signing key comes from Secrets Manager (see [`crate::state::AppState::jwt`]).
//!
//! The secret holds one key per line, newest first, so it rotates without signing anyone
//! out: tokens and links are made with the first key and accepted under any of them (see
//! docs/runbook.md, "Rotating keys").

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rbac::Role;

/// Shortest key accepted for HS256: 256 bits.
const MIN_KEY_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: Uuid,
    pub sid: Uuid,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the signing key is shorter than {MIN_KEY_BYTES} bytes")]
    WeakKey,
    #[error("the token is invalid: {0}")]
    Invalid(String),
}

#[derive(Clone)]
pub struct JwtKeys {
    /// Extends refresh-token chains (see `sessions`); derived from the signing key so
    /// one secret serves both.
    refresh_chain: [u8; 32],
    /// The links of `auth::links`, derived from each key: the first signs, any verifies.
    links: Vec<[u8; 32]>,
    encoding: EncodingKey,
    /// One per key of the secret, the signing key first.
    decoding: Vec<DecodingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl JwtKeys {
    /// Keys from `secret`: one per line, newest (the signing key) first.
    pub fn new(
        secret: &[u8],
        issuer: &str,
        audience: &str,
        ttl: Duration,
    ) -> Result<Self, TokenError> {
        let keys: Vec<&[u8]> = secret
            .split(|b| *b == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .filter(|line| !line.is_empty())
            .collect();
        let signing = *keys.first().ok_or(TokenError::WeakKey)?;
        if keys.iter().any(|key| key.len() < MIN_KEY_BYTES) {
            return Err(TokenError::WeakKey);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Ok(Self {
            refresh_chain: hmac_sha256(signing, b"readyset refresh-token chain"),
            links: keys
                .iter()
                .map(|key| hmac_sha256(key, b"readyset signed links"))
                .collect(),
            encoding: EncodingKey::from_secret(signing),
            decoding: keys
                .iter()
                .map(|key| DecodingKey::from_secret(key))
                .collect(),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
        })
    }

    /// Signs an access token for a session; returns it with its expiry.
    pub fn issue(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        role: Role,
        now: DateTime<Utc>,
    ) -> (String, DateTime<Utc>) {
        let expires = now + self.ttl;
        let claims = AccessClaims {
            sub: user_id,
            sid: session_id,
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            exp: expires.timestamp(),
            jti: Uuid::new_v4(),
        };
        // Encoding our own claims with an HMAC key cannot fail.
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .unwrap_or_default();
        (token, expires)
    }

    /// Checks signature (under any key of the secret), algorithm, expiry, issuer and
    /// audience.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let mut first_error = None;
        for key in &self.decoding {
            match jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(TokenError::Invalid(
            first_error.map(|e| e.to_string()).unwrap_or_default(),
        ))
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// HMAC-SHA256 of `message` under the refresh-chain key.
    pub fn refresh_chain_mac(&self, message: &[u8]) -> [u8; 32] {
        hmac_sha256(&self.refresh_chain, message)
    }

    /// HMAC-SHA256 of `message` under each key's signed-link key, the signing key's first
    /// (see `auth::links`).
    pub fn link_macs<'a>(&'a self, message: &'a [u8]) -> impl Iterator<Item = [u8; 32]> + 'a {
        self.links.iter().map(move |key| hmac_sha256(key, message))
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

    fn keys() -> JwtKeys {
        JwtKeys::new(
            &[7u8; 32],
            "readyset",
            "readyset-api",
            Duration::minutes(15),
        )
        .expect("keys")
    }

    #[test]
    fn round_trip() {
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let (token, expires) = keys().issue(user, session, Role::Client, Utc::now());
        let claims = keys().verify(&token).expect("valid");
        assert_eq!(
            (claims.sub, claims.sid, claims.role),
            (user, session, Role::Client)
        );
        assert_eq!(claims.exp, expires.timestamp());
    }

    #[test]
    fn rejects_expired_forged_and_foreign_tokens() {
        let keys = keys();
        let (expired, _) = keys.issue(
            Uuid::new_v4(),
            Uuid::new_v4(),
            Role::Admin,
            Utc::now() - Duration::hours(1),
        );
        assert!(keys.verify(&expired).is_err());

        let other = JwtKeys::new(
            &[8u8; 32],
            "readyset",
            "readyset-api",
            Duration::minutes(15),
        )
        .expect("keys");
        let (forged, _) = other.issue(Uuid::new_v4(), Uuid::new_v4(), Role::Admin, Utc::now());
        assert!(keys.verify(&forged).is_err());

        let wrong_audience =
            JwtKeys::new(&[7u8; 32], "readyset", "elsewhere", Duration::minutes(15)).expect("keys");
        let (foreign, _) =
            wrong_audience.issue(Uuid::new_v4(), Uuid::new_v4(), Role::Admin, Utc::now());
        assert!(keys.verify(&foreign).is_err());
    }

    #[test]
    fn rejects_alg_none_and_garbage() {
        let keys = keys();
        let (token, _) = keys.issue(Uuid::new_v4(), Uuid::new_v4(), Role::Admin, Utc::now());
        let payload = token.split('.').nth(1).expect("payload");
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(keys.verify(&format!("{header}.{payload}.")).is_err());
        let hs512 = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
        assert!(keys
            .verify(&format!(
                "{hs512}.{payload}.{}",
                token.split('.').nth(2).expect("sig")
            ))
            .is_err());
        for garbage in ["", "a.b.c", "not-a-token", "Bearer x"] {
            assert!(keys.verify(garbage).is_err(), "{garbage}");
        }
    }

    #[test]
    fn a_rotated_secret_signs_with_its_first_key_and_accepts_the_previous() {
        let old = keys();
        let (before, _) = old.issue(Uuid::new_v4(), Uuid::new_v4(), Role::Admin, Utc::now());
        let mut secret = vec![b'K'; 32];
        secret.extend_from_slice(b"\n");
        secret.extend_from_slice(&[7u8; 32]);
        let rotated =
            JwtKeys::new(&secret, "readyset", "readyset-api", Duration::minutes(15)).expect("keys");
        assert!(
            rotated.verify(&before).is_ok(),
            "tokens of the old key still work"
        );
        let (after, _) = rotated.issue(Uuid::new_v4(), Uuid::new_v4(), Role::Admin, Utc::now());
        assert!(old.verify(&after).is_err(), "the new key signs");
        let new_only = JwtKeys::new(
            &[b'K'; 32],
            "readyset",
            "readyset-api",
            Duration::minutes(15),
        )
        .expect("keys");
        assert!(new_only.verify(&after).is_ok());
        assert!(
            new_only.verify(&before).is_err(),
            "the old key, once removed, is refused"
        );
        let mut weak_previous = vec![b'K'; 32];
        weak_previous.extend_from_slice(b"\nshort");
        assert!(JwtKeys::new(&weak_previous, "i", "a", Duration::minutes(1)).is_err());
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(matches!(
            JwtKeys::new(b"short", "i", "a", Duration::minutes(1)),
            Err(TokenError::WeakKey)
        ));
    }
}
