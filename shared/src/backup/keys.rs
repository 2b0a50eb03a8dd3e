//! Envelope encryption of backups: a fresh data key per backup, wrapped by a key that
//! never leaves the key service (KMS) or by a master key held in Secrets Manager. The
//! manifest carries only the wrapped form; unwrapping needs the key service or the secret,
//! so a copy of the bucket alone reveals nothing.

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Key,
};
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use serde::{Deserialize, Serialize};

use super::{format::DataKey, BackupError};
use crate::{config::BackupKeySource, AppState};

/// A data key as the manifest stores it: which key wrapped it, and the wrapped bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum WrappedKey {
    /// Wrapped by KMS (`GenerateDataKey`); the blob names its key, `Decrypt` opens it.
    Kms { key_id: String, blob: String },
    /// Wrapped with AES-256-GCM under the 32-byte master key in the named secret.
    Secret {
        secret_id: String,
        nonce: String,
        blob: String,
    },
}

/// What binds a secret-wrapped data key to its purpose.
const WRAP_AAD: &[u8] = b"readyset-backup-data-key-v1";

fn kms(state: &AppState) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&state.sdk)
}

/// A new data key and its wrapped form, from the configured key. Unwraps it again before
/// answering, so a key that can wrap but not unwrap (a policy missing `Decrypt`) stops the
/// backup here instead of producing one nobody can restore.
pub async fn new_data_key(state: &AppState) -> Result<(DataKey, WrappedKey), BackupError> {
    let source = state
        .config
        .backups
        .key
        .as_ref()
        .ok_or(BackupError::NoKey)?;
    let (key, wrapped) = match source {
        BackupKeySource::Kms(key_id) => generate_with_kms(state, key_id).await?,
        BackupKeySource::Secret(secret_id) => generate_with_secret(state, secret_id).await?,
    };
    let unwrapped = unwrap(state, &wrapped).await?;
    if unwrapped.0 != key.0 {
        return Err(BackupError::KeyUnusable {
            key: wrapped.key_name().to_owned(),
            reason: "the wrapped data key does not unwrap to itself".into(),
        });
    }
    Ok((key, wrapped))
}

/// A data key from KMS (`GenerateDataKey`): the plain key and the blob only KMS opens.
#[tracing::instrument(name = "kms_generate_data_key", skip_all, fields(key = %key_id))]
async fn generate_with_kms(
    state: &AppState,
    key_id: &str,
) -> Result<(DataKey, WrappedKey), BackupError> {
    let out = kms(state)
        .generate_data_key()
        .key_id(key_id)
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .send()
        .await
        .map_err(|e| BackupError::key(key_id, &e))?;
    let plain = out
        .plaintext()
        .map(|b| b.as_ref().to_vec())
        .unwrap_or_default();
    let blob = out
        .ciphertext_blob()
        .ok_or_else(|| unusable(key_id, "the key service returned no wrapped key"))?;
    let key = DataKey(plain.try_into().map_err(|_| {
        unusable(
            key_id,
            "the key service returned a data key that is not 256 bits",
        )
    })?);
    let wrapped = WrappedKey::Kms {
        key_id: key_id.to_owned(),
        blob: B64.encode(blob.as_ref()),
    };
    Ok((key, wrapped))
}

/// A random data key wrapped with AES-256-GCM under the master key in `secret_id`.
async fn generate_with_secret(
    state: &AppState,
    secret_id: &str,
) -> Result<(DataKey, WrappedKey), BackupError> {
    let master = master_key(state, secret_id).await?;
    let key = DataKey::random();
    let nonce: [u8; 12] = {
        use rand::RngExt;
        rand::rng().random()
    };
    let blob = master
        .encrypt(
            &aes_gcm::aead::Nonce::<Aes256Gcm>::from(nonce),
            Payload {
                msg: &key.0,
                aad: WRAP_AAD,
            },
        )
        .map_err(|_| unusable(secret_id, "wrapping the data key failed"))?;
    let wrapped = WrappedKey::Secret {
        secret_id: secret_id.to_owned(),
        nonce: B64.encode(nonce),
        blob: B64.encode(blob),
    };
    Ok((key, wrapped))
}

/// Opens a wrapped data key with the key service or the secret it names.
pub async fn unwrap(state: &AppState, wrapped: &WrappedKey) -> Result<DataKey, BackupError> {
    let plain = match wrapped {
        WrappedKey::Kms { key_id, blob } => decrypt_with_kms(state, key_id, blob).await?,
        WrappedKey::Secret {
            secret_id,
            nonce,
            blob,
        } => decrypt_with_secret(state, secret_id, nonce, blob).await?,
    };
    let bytes: [u8; 32] = plain
        .try_into()
        .map_err(|_| unusable(wrapped.key_name(), "the unwrapped data key is not 256 bits"))?;
    Ok(DataKey(bytes))
}

/// Why the key named `key` cannot be used.
fn unusable(key: &str, reason: &str) -> BackupError {
    BackupError::KeyUnusable {
        key: key.to_owned(),
        reason: reason.to_owned(),
    }
}

/// The plain bytes of a KMS-wrapped data key (`Decrypt`).
#[tracing::instrument(name = "kms_decrypt_data_key", skip_all, fields(key = %key_id))]
async fn decrypt_with_kms(
    state: &AppState,
    key_id: &str,
    blob: &str,
) -> Result<Vec<u8>, BackupError> {
    let blob = B64
        .decode(blob)
        .map_err(|_| unusable(key_id, "the wrapped key is not base64"))?;
    let out = kms(state)
        .decrypt()
        .key_id(key_id)
        .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(blob))
        .send()
        .await
        .map_err(|e| BackupError::key(key_id, &e))?;
    Ok(out
        .plaintext()
        .map(|b| b.as_ref().to_vec())
        .unwrap_or_default())
}

/// The plain bytes of a data key wrapped under the master key in `secret_id`.
async fn decrypt_with_secret(
    state: &AppState,
    secret_id: &str,
    nonce: &str,
    blob: &str,
) -> Result<Vec<u8>, BackupError> {
    let master = master_key(state, secret_id).await?;
    let nonce: [u8; 12] = B64
        .decode(nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| unusable(secret_id, "the wrapped key's nonce is malformed"))?;
    let blob = B64
        .decode(blob)
        .map_err(|_| unusable(secret_id, "the wrapped key is not base64"))?;
    master
        .decrypt(
            &aes_gcm::aead::Nonce::<Aes256Gcm>::from(nonce),
            Payload {
                msg: &blob,
                aad: WRAP_AAD,
            },
        )
        .map_err(|_| unusable(secret_id, "the master key does not open this data key"))
}

/// The master key in a secret: 32 bytes, base64.
#[tracing::instrument(name = "read_backup_master_key", skip_all, fields(secret = %secret_id))]
async fn master_key(state: &AppState, secret_id: &str) -> Result<Aes256Gcm, BackupError> {
    let text = crate::secrets::secret_string(state, secret_id)
        .await
        .map_err(|e| {
            let reason = format!("the secret cannot be read ({})", crate::error::chain(&e));
            unusable(secret_id, &reason)
        })?;
    let bytes: [u8; 32] = B64
        .decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| unusable(secret_id, "the secret is not 32 bytes of base64"))?;
    Ok(Aes256Gcm::new(&Key::<Aes256Gcm>::from(bytes)))
}

impl WrappedKey {
    /// The KMS key or secret that wraps the data key (never the key itself).
    pub fn key_name(&self) -> &str {
        match self {
            WrappedKey::Kms { key_id, .. } => key_id,
            WrappedKey::Secret { secret_id, .. } => secret_id,
        }
    }
}
