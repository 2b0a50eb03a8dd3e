//! Finding a backup, opening its manifest and proving its objects whole before anything
//! is written.

use std::collections::HashMap;

use crate::{
    backup::{
        format::DataKey,
        keys,
        manifest::{self, Manifest, ObjectRef},
        retention,
        store::{self, ObjectReader},
        BackupError, Progress, Step,
    },
    AppState,
};

/// The word a restore may name instead of a manifest key: the newest complete backup.
pub const LATEST: &str = "latest";

/// A manifest read from the bucket, with its data keys opened and its MAC proven.
pub struct OpenedBackup {
    pub manifest: Manifest,
    keys: HashMap<String, DataKey>,
}

impl OpenedBackup {
    pub fn key_for(&self, object: &ObjectRef) -> Result<&DataKey, BackupError> {
        self.keys.get(&object.sealed_by).ok_or_else(|| {
            BackupError::ManifestInvalid(format!("no data key for backup {}", object.sealed_by))
        })
    }
}

/// A manifest key, or [`LATEST`] resolved to the newest complete backup's.
pub async fn resolve(
    state: &AppState,
    s3: &aws_sdk_s3::Client,
    manifest_key: &str,
) -> Result<String, BackupError> {
    if manifest_key != LATEST {
        return Ok(manifest_key.to_owned());
    }
    retention::list(s3, &state.config.resources.backups_bucket)
        .await?
        .pop()
        .map(|l| l.manifest_key)
        .ok_or_else(|| BackupError::NotFound("latest: the bucket holds no complete backup".into()))
}

/// Reads and authenticates a manifest. A key with no manifest is no backup.
#[tracing::instrument(name = "open_backup_manifest", skip_all, fields(manifest = %manifest_key))]
pub async fn open(
    state: &AppState,
    s3: &aws_sdk_s3::Client,
    manifest_key: &str,
) -> Result<OpenedBackup, BackupError> {
    let bucket = &state.config.resources.backups_bucket;
    let manifest: Manifest = store::get_json(s3, bucket, manifest_key)
        .await?
        .ok_or_else(|| BackupError::NotFound(manifest_key.to_owned()))?;
    if manifest.format != manifest::FORMAT_VERSION {
        return Err(BackupError::ManifestInvalid(format!(
            "format {} is not one this build reads ({})",
            manifest.format,
            manifest::FORMAT_VERSION
        )));
    }
    if manifest.key() != manifest_key {
        return Err(BackupError::ManifestInvalid(format!(
            "{manifest_key} describes the backup at {}",
            manifest.key()
        )));
    }
    let mut opened = HashMap::new();
    for (backup_id, wrapped) in &manifest.keys {
        opened.insert(backup_id.clone(), keys::unwrap(state, wrapped).await?);
    }
    let own = opened.get(&manifest.backup_id).ok_or_else(|| {
        BackupError::ManifestInvalid("the manifest carries no key of its own backup".into())
    })?;
    manifest.check_mac(own)?;
    Ok(OpenedBackup {
        manifest,
        keys: opened,
    })
}

/// Where a restore reads a backup's objects: the bucket, and the opened backup whose keys
/// unseal them.
#[derive(Clone, Copy)]
pub(super) struct Source<'a> {
    pub s3: &'a aws_sdk_s3::Client,
    pub bucket: &'a str,
    pub backup: &'a OpenedBackup,
}

impl Source<'_> {
    /// Starts streaming one object, each frame checked as it opens and the whole object
    /// (size and SHA-256) at its end.
    pub async fn read(&self, object: &ObjectRef) -> Result<ObjectReader, BackupError> {
        ObjectReader::open(self.s3, self.bucket, object, self.backup.key_for(object)?).await
    }
}

/// Reads every object of the plan whole, checking it, writing nothing; the stored bytes
/// read.
pub(super) async fn check_objects(
    source: Source<'_>,
    objects: &[&ObjectRef],
    progress: Progress<'_>,
) -> Result<u64, BackupError> {
    let total: u64 = objects.iter().map(|o| o.bytes).sum();
    let mut done = 0u64;
    for (i, object) in objects.iter().enumerate() {
        done += check_object(source, object).await?;
        progress(&Step {
            phase: "checking",
            item: &object.key,
            items_done: i + 1,
            items_total: objects.len(),
            bytes_done: done,
            bytes_total: Some(total),
        });
    }
    Ok(done)
}

/// Downloads one object and opens every frame, keeping nothing; its stored bytes.
#[tracing::instrument(name = "check_backup_object", skip_all, fields(object = %object.key))]
async fn check_object(source: Source<'_>, object: &ObjectRef) -> Result<u64, BackupError> {
    let mut reader = source.read(object).await?;
    while reader.next().await?.is_some() {}
    Ok(reader.stored_bytes)
}
