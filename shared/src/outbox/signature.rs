//! How webhook deliveries are signed.
//!
//! Two headers carry HMAC-SHA256 signatures made with the partner's shared secret:
//!
//! - `readyset-signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, where each `v1` signs
//!   `"{t}.{raw body}"`. The timestamp is signed with the body, and the event id is inside
//!   the body, so a receiver that refuses signatures older than [`TOLERANCE_SECONDS`] and
//!   drops event ids it has seen cannot be fooled by a captured delivery replayed later.
//!   During a secret rotation the partner's secret holds several secrets (one per line,
//!   newest first) and the header carries one `v1` per secret.
//! - `x-readyset-signature: hex(HMAC(newest secret, raw body))`, kept for receivers built
//!   against the first version; it does not cover the timestamp.

use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;

pub const HEADER: &str = "readyset-signature";
/// The first version's header: the body only.
pub const LEGACY_HEADER: &str = "x-readyset-signature";
/// How old a signature receivers should still accept.
pub const TOLERANCE_SECONDS: i64 = 300;

/// `hex(HMAC-SHA256(secret, message))`.
pub fn hmac_hex(secret: &[u8], message: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// The secrets a stored secret value holds: one per line, newest first.
pub fn secrets(stored: &str) -> Vec<&str> {
    stored
        .lines()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

fn signed_payload(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    message
}

/// The `readyset-signature` value for a delivery sent at `timestamp`.
pub fn header_value(secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
    let message = signed_payload(timestamp, body);
    let mut value = format!("t={timestamp}");
    for secret in secrets {
        value.push_str(",v1=");
        value.push_str(&hmac_hex(secret.as_bytes(), &message));
    }
    value
}

/// What a receiver does with `readyset-signature`: true when one `v1` matches `secret`
/// and the timestamp is within [`TOLERANCE_SECONDS`] of `now`.
pub fn verify(header: &str, secret: &str, body: &[u8], now: i64) -> bool {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => candidates.push(sig),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return false;
    }
    let expected = hmac_hex(secret.as_bytes(), &signed_payload(timestamp, body));
    candidates
        .iter()
        .any(|sig| bool::from(sig.as_bytes().ct_eq(expected.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmacs_are_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn signatures_cover_the_timestamp_and_expire() {
        let body = br#"{"eventId":"e1","status":"ASSIGNED"}"#;
        let header = header_value(&["new-secret", "old-secret"], 1_000, body);
        assert!(header.starts_with("t=1000,v1="));
        assert_eq!(header.matches("v1=").count(), 2);
        assert!(verify(&header, "new-secret", body, 1_000 + 60));
        assert!(verify(&header, "old-secret", body, 1_000), "rotation");
        assert!(!verify(&header, "other", body, 1_000));
        assert!(!verify(&header, "new-secret", body, 1_000 + 301), "too old");
        let replayed = header.replace("t=1000", "t=2000");
        assert!(
            !verify(&replayed, "new-secret", body, 2_000),
            "a fresh timestamp breaks the signature"
        );
        assert!(!verify(&header, "new-secret", b"{}", 1_000), "another body");
    }

    #[test]
    fn stored_secrets_are_one_per_line() {
        assert_eq!(secrets("a\n b \n\n"), ["a", "b"]);
        assert_eq!(secrets("only"), ["only"]);
    }
}
