//! Hand-off PINs: the code a recipient is sent as the driver arrives, which the driver
//! enters to complete the delivery. The code is derived, not stored: the first digits of
//! an HMAC under the signed-link key (`auth::links`) over the delivery and a nonce drawn
//! when the code is sent. The database holds only the nonce, so neither it nor a backup
//! reveals a code, and a code of four digits has no hash worth keeping. After a key
//! rotation a code sent under the previous key still verifies.

use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::tokens::JwtKeys;

/// Digits of a hand-off code.
pub const PIN_DIGITS: usize = 4;

fn message(delivery_id: Uuid, nonce: Uuid) -> Vec<u8> {
    let mut message = b"handoff-pin\0".to_vec();
    message.extend_from_slice(delivery_id.as_bytes());
    message.extend_from_slice(nonce.as_bytes());
    message
}

fn digits(mac: &[u8; 32]) -> String {
    let value = u64::from_be_bytes([
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], mac[6], mac[7],
    ]);
    let modulus = 10u64.pow(PIN_DIGITS as u32);
    format!("{:0width$}", value % modulus, width = PIN_DIGITS)
}

/// The code of a delivery's current nonce, under the signing key.
pub fn handoff_pin(keys: &JwtKeys, delivery_id: Uuid, nonce: Uuid) -> String {
    let message = message(delivery_id, nonce);
    let mac = keys.link_macs(&message).next().unwrap_or_default();
    digits(&mac)
}

/// Whether `entered` is the delivery's code under any key of the secret.
pub fn verify(keys: &JwtKeys, delivery_id: Uuid, nonce: Uuid, entered: &str) -> bool {
    let entered = entered.trim();
    let message = message(delivery_id, nonce);
    let matched = keys
        .link_macs(&message)
        .any(|mac| bool::from(digits(&mac).as_bytes().ct_eq(entered.as_bytes())));
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(seed: u8) -> JwtKeys {
        JwtKeys::new(
            &[seed; 32],
            "readyset",
            "readyset-api",
            chrono::Duration::minutes(15),
        )
        .expect("keys")
    }

    #[test]
    fn a_code_is_four_digits_that_verify_for_its_delivery_and_nonce_alone() {
        let (delivery, nonce) = (Uuid::new_v4(), Uuid::new_v4());
        let code = handoff_pin(&keys(1), delivery, nonce);
        assert_eq!(code.len(), PIN_DIGITS);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert!(verify(&keys(1), delivery, nonce, &code));
        assert!(verify(&keys(1), delivery, nonce, &format!(" {code} ")));
        assert!(!verify(&keys(2), delivery, nonce, &code), "another key");
        let others = (0..50)
            .filter(|_| verify(&keys(1), delivery, Uuid::new_v4(), &code))
            .count();
        assert!(
            others < 5,
            "a new nonce draws a new code: {others} of 50 matched"
        );
        assert!(!verify(&keys(1), delivery, nonce, ""));
        assert!(!verify(&keys(1), delivery, nonce, &format!("{code}0")));
    }
}
