//! Password hashing (argon2id, PHC strings) and the password policy.

use std::sync::LazyLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult, FieldError};

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 128;

/// A hash of a password nobody has, verified when the account does not exist so that a
/// login for an unknown email takes as long as one for a known email.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$cmVhZHlzZXRkZWNveXNhbHQ$O4mYT2bL9uvvjeYhA0k4BvC2yOo0RuAmhHEX1ePOfFE";

/// Checks the policy: 10 to 128 characters, letters and something else, not the email.
pub fn check_policy(password: &str, email: &str) -> Result<(), FieldError> {
    let length = password.chars().count();
    let reason = if length < MIN_LENGTH {
        format!("must be at least {MIN_LENGTH} characters")
    } else if length > MAX_LENGTH {
        format!("must be at most {MAX_LENGTH} characters")
    } else if !password.chars().any(char::is_alphabetic)
        || password.chars().all(char::is_alphabetic)
    {
        "must mix letters with digits or symbols".to_owned()
    } else if password.chars().all(|c| password.starts_with(c)) {
        "must not repeat one character".to_owned()
    } else if password
        .to_lowercase()
        .contains(email.split('@').next().unwrap_or(email))
        && email.len() > 3
    {
        "must not contain your email name".to_owned()
    } else {
        return Ok(());
    };
    Err(FieldError::new("password", reason))
}

/// Hashes computed at once, at most: one per core. Each takes 19 MiB and tens of
/// milliseconds of CPU by design, so a burst of sign-ins queues here instead of
/// exhausting memory (a Lambda container serves one request at a time anyway).
static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// Runs a hash computation on the blocking pool, so that it does not stall the async
/// workers and every request sharing them.
async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> ApiResult<T> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| ApiError::internal(format!("password hashing is closed: {e}")))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("password hashing did not finish: {e}")))
}

pub async fn hash(password: &str) -> ApiResult<String> {
    let password = password.to_owned();
    off_the_runtime(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| ApiError::internal(format!("password hashing failed: {e}")))
    })
    .await?
}

/// Verifies `password` against a stored hash; with no hash, spends the same time and fails.
pub async fn verify(password: &str, stored: Option<&str>) -> ApiResult<bool> {
    let (password, stored) = (password.to_owned(), stored.map(str::to_owned));
    off_the_runtime(move || {
        let argon = Argon2::default();
        match stored {
            Some(stored) => argon
                .verify_password(password.as_bytes(), stored.as_str())
                .is_ok(),
            None => {
                let _ = argon.verify_password(password.as_bytes(), DECOY_HASH);
                false
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ_per_salt() {
        let a = hash("correct horse 9").await.expect("hash");
        let b = hash("correct horse 9").await.expect("hash");
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$"));
        let verified = |password: &'static str, stored: Option<String>| async move {
            verify(password, stored.as_deref()).await.expect("verify")
        };
        assert!(verified("correct horse 9", Some(a.clone())).await);
        assert!(!verified("correct horse 8", Some(a)).await);
        assert!(!verified("anything", None).await);
        assert!(!verified("anything", Some("not a hash".into())).await);
    }

    #[test]
    fn policy() {
        assert!(check_policy("tr0ub4dor&3x", "ann@example.com").is_ok());
        for bad in [
            "short1",
            "onlyletterslong",
            "1234567890123",
            "aaaaaaaaaaaaa",
            &"a1".repeat(65),
        ] {
            assert!(check_policy(bad, "ann@example.com").is_err(), "{bad}");
        }
        assert!(check_policy("annabelle-2024", "annabelle@example.com").is_err());
    }
}
