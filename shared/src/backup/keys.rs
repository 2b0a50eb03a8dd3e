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
        BackupKeySource::Kms(key_id) => {
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
                .ok_or_else(|| BackupError::KeyUnusable {
                    key: key_id.clone(),
                    reason: "the key service returned no wrapped key".into(),
                })?;
            let key = DataKey(plain.try_into().map_err(|_| BackupError::KeyUnusable {
                key: key_id.clone(),
                reason: "the key service returned a data key that is not 256 bits".into(),
            })?);
            let wrapped = WrappedKey::Kms {
                key_id: key_id.clone(),
                blob: B64.encode(blob.as_ref()),
            };
            (key, wrapped)
        }
        BackupKeySource::Secret(secret_id) => {
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
                .map_err(|_| BackupError::KeyUnusable {
                    key: secret_id.clone(),
                    reason: "wrapping the data key failed".into(),
                })?;
            let wrapped = WrappedKey::Secret {
                secret_id: secret_id.clone(),
                nonce: B64.encode(nonce),
                blob: B64.encode(blob),
            };
            (key, wrapped)
        }
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

/// Opens a wrapped data key with the key service or the secret it names.
pub async fn unwrap(state: &AppState, wrapped: &WrappedKey) -> Result<DataKey, BackupError> {
    let name = wrapped.key_name().to_owned();
    let unusable = |reason: &str| BackupError::KeyUnusable {
        key: name.clone(),
        reason: reason.to_owned(),
    };
    let plain = match wrapped {
        WrappedKey::Kms { key_id, blob } => {
            let blob = B64
                .decode(blob)
                .map_err(|_| unusable("the wrapped key is not base64"))?;
            let out = kms(state)
                .decrypt()
                .key_id(key_id)
                .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(blob))
                .send()
                .await
                .map_err(|e| BackupError::key(key_id, &e))?;
            out.plaintext()
                .map(|b| b.as_ref().to_vec())
                .unwrap_or_default()
        }
        WrappedKey::Secret {
            secret_id,
            nonce,
            blob,
        } => {
            let master = master_key(state, secret_id).await?;
            let nonce: [u8; 12] = B64
                .decode(nonce)
                .ok()
                .and_then(|n| n.try_into().ok())
                .ok_or_else(|| unusable("the wrapped key's nonce is malformed"))?;
            let blob = B64
                .decode(blob)
                .map_err(|_| unusable("the wrapped key is not base64"))?;
            master
                .decrypt(
                    &aes_gcm::aead::Nonce::<Aes256Gcm>::from(nonce),
                    Payload {
                        msg: &blob,
                        aad: WRAP_AAD,
                    },
                )
                .map_err(|_| unusable("the master key does not open this data key"))?
        }
    };
    let bytes: [u8; 32] = plain
        .try_into()
        .map_err(|_| unusable("the unwrapped data key is not 256 bits"))?;
    Ok(DataKey(bytes))
}

/// The master key in a secret: 32 bytes, base64.
async fn master_key(state: &AppState, secret_id: &str) -> Result<Aes256Gcm, BackupError> {
    let unusable = |reason: String| BackupError::KeyUnusable {
        key: secret_id.to_owned(),
        reason,
    };
    let text = crate::secrets::secret_string(state, secret_id)
        .await
        .map_err(|e| {
            unusable(format!(
                "the secret cannot be read ({})",
                crate::error::chain(&e)
            ))
        })?;
    let bytes: [u8; 32] = B64
        .decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| unusable("the secret is not 32 bytes of base64".into()))?;
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
