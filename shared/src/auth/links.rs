//! Signed links: a token that names one record until an expiry, for people who hold no
//! session (anyone following a delivery, an applicant uploading documents). The token is
//! the record's id, the expiry and a truncated HMAC over both and the link's purpose, so a
//! token made for one purpose never opens another. Altered or expired tokens are `None`;
//! callers answer 404 for them.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::tokens::JwtKeys;

/// What a link opens; part of what its MAC covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// `GET /api/track/{token}`: an order's public tracking page.
    Tracking,
    /// An applicant's document uploads to its job application.
    ApplicationUploads,
}

impl LinkPurpose {
    fn tag(self) -> &'static [u8] {
        match self {
            LinkPurpose::Tracking => b"tracking",
            LinkPurpose::ApplicationUploads => b"application-uploads",
        }
    }
}

/// How long a tracking link works: a day, long enough for a catering order's morning of
/// pickup and delivery, short enough that a forwarded link does not follow later orders.
pub const TRACKING_LINK_TTL: chrono::Duration = chrono::Duration::hours(24);

/// Bytes of the MAC kept in a token: 128 bits.
const MAC_BYTES: usize = 16;
const PAYLOAD_BYTES: usize = 24;

fn payload(id: Uuid, expires: i64) -> [u8; PAYLOAD_BYTES] {
    let mut payload = [0u8; PAYLOAD_BYTES];
    payload[..16].copy_from_slice(id.as_bytes());
    payload[16..].copy_from_slice(&expires.to_be_bytes());
    payload
}

fn message(purpose: LinkPurpose, payload: &[u8]) -> Vec<u8> {
    let mut message = purpose.tag().to_vec();
    message.push(0);
    message.extend_from_slice(payload);
    message
}

/// A token naming `id` for `purpose` until `expires_at` (to the second).
pub fn sign(keys: &JwtKeys, purpose: LinkPurpose, id: Uuid, expires_at: DateTime<Utc>) -> String {
    let payload = payload(id, expires_at.timestamp());
    let mut token = payload.to_vec();
    let message = message(purpose, &payload);
    // The signing key's MAC comes first; a secret always holds at least one key.
    let mac = keys.link_macs(&message).next().unwrap_or_default();
    token.extend_from_slice(&mac[..MAC_BYTES]);
    URL_SAFE_NO_PAD.encode(token)
}

/// The id a token names, if it was made for `purpose`, is unaltered and has not expired.
pub fn verify(
    keys: &JwtKeys,
    purpose: LinkPurpose,
    token: &str,
    now: DateTime<Utc>,
) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    if bytes.len() != PAYLOAD_BYTES + MAC_BYTES {
        return None;
    }
    let (payload, tag) = bytes.split_at(PAYLOAD_BYTES);
    let message = message(purpose, payload);
    // Under any key of the secret: links made before a rotation keep working.
    if !keys
        .link_macs(&message)
        .any(|mac| bool::from(mac[..MAC_BYTES].ct_eq(tag)))
    {
        return None;
    }
    let mut expires = [0u8; 8];
    expires.copy_from_slice(&payload[16..]);
    if i64::from_be_bytes(expires) < now.timestamp() {
        return None;
    }
    Uuid::from_slice(&payload[..16]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(
            &[7u8; 32],
            "issuer",
            "audience",
            chrono::Duration::minutes(15),
        )
        .expect("keys")
    }

    #[test]
    fn a_token_opens_only_its_purpose_until_it_expires() {
        let keys = keys();
        let id = Uuid::new_v4();
        let now = Utc::now();
        let token = sign(
            &keys,
            LinkPurpose::Tracking,
            id,
            now + chrono::Duration::hours(1),
        );
        assert_eq!(verify(&keys, LinkPurpose::Tracking, &token, now), Some(id));
        assert_eq!(
            verify(&keys, LinkPurpose::ApplicationUploads, &token, now),
            None
        );
        let later = now + chrono::Duration::hours(2);
        assert_eq!(verify(&keys, LinkPurpose::Tracking, &token, later), None);
    }

    #[test]
    fn an_altered_token_opens_nothing() {
        let keys = keys();
        let now = Utc::now();
        let token = sign(
            &keys,
            LinkPurpose::ApplicationUploads,
            Uuid::new_v4(),
            now + chrono::Duration::hours(1),
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
        for i in [0, 20, bytes.len() - 1] {
            bytes[i] ^= 1;
            let altered = URL_SAFE_NO_PAD.encode(&bytes);
            assert_eq!(
                verify(&keys, LinkPurpose::ApplicationUploads, &altered, now),
                None
            );
            bytes[i] ^= 1;
        }
        assert_eq!(
            verify(&keys, LinkPurpose::ApplicationUploads, "not a token", now),
            None
        );
    }
}
