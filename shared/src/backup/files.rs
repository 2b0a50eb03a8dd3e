//! The uploaded files in backups: copied incrementally by ETag into a folder shared by all
//! backups (`files/…`), sealed like every other object, listed in each manifest.
//!
//! A file unchanged since the newest complete backup is not copied again: the manifest
//! lists the earlier copy and carries the wrapped key that sealed it. Retention removes a
//! copy only once no remaining manifest lists it.

use std::collections::{BTreeMap, HashMap, HashSet};

use aws_sdk_s3::primitives::ByteStream;
use sha2::{Digest, Sha256};

use super::{
    format::DataKey,
    keys::{self, WrappedKey},
    manifest::{FileEntry, Manifest},
    retention,
    store::{self, ObjectWriter},
    BackupError, Progress, Step,
};
use crate::AppState;

/// The shared folder of file copies.
pub const FILES_PREFIX: &str = "files/";

/// How this backup seals the copies it makes.
pub struct Sealing<'a> {
    pub data_key: &'a DataKey,
    pub backup_id: &'a str,
    /// Object numbers from here on are the files' (each frame's nonce includes it).
    pub first_number: u32,
}

/// Where one backup's copy of one version of one upload lives. The backup's id is part of
/// the name, so a copy is never overwritten: a file put back with the same bytes (the
/// same ETag), or two backups copying it at once, make new copies beside the old ones
/// that earlier manifests still list.
fn copy_key(upload_key: &str, etag: &str, backup_id: &str) -> String {
    let name = hex::encode(Sha256::digest(upload_key.as_bytes()));
    let version: String = etag
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!(
        "{FILES_PREFIX}{name}/{}/{backup_id}.zst.enc",
        version.trim_matches('-')
    )
}

/// Backs up the uploads bucket: lists it, reuses the newest complete backup's copies of
/// unchanged objects, copies the rest. Returns the manifest entries and how many were
/// copied; `keys_used` gains the wrapped keys of the earlier backups reused.
pub async fn back_up(
    state: &AppState,
    s3: &aws_sdk_s3::Client,
    sealing: Sealing<'_>,
    keys_used: &mut BTreeMap<String, WrappedKey>,
    progress: Progress<'_>,
) -> Result<(Vec<FileEntry>, usize), BackupError> {
    let uploads = &state.config.resources.uploads_bucket;
    let backups = &state.config.resources.backups_bucket;
    let objects = store::list(s3, uploads, "").await?;
    let stored: HashSet<String> = store::list(s3, backups, FILES_PREFIX)
        .await?
        .into_iter()
        .filter_map(|o| o.key)
        .collect();
    let previous = match retention::list(s3, backups)
        .await?
        .into_iter()
        .max_by_key(|l| l.started_at)
    {
        Some(listed) => store::get_json::<Manifest>(s3, backups, &listed.manifest_key).await?,
        None => None,
    };
    let reusable: HashMap<(&str, &str), &FileEntry> = previous
        .iter()
        .flat_map(|m| m.files.iter())
        .filter(|f| stored.contains(&f.object.key))
        .map(|f| ((f.key.as_str(), f.etag.as_str()), f))
        .collect();

    let mut entries = Vec::with_capacity(objects.len());
    let mut copied = 0usize;
    let mut bytes_done = 0u64;
    for (i, object) in objects.iter().enumerate() {
        let (Some(key), Some(etag)) = (object.key(), object.e_tag()) else {
            continue;
        };
        let size = object.size().map_or(0, |s| u64::try_from(s).unwrap_or(0));
        let entry = match (reusable.get(&(key, etag)), &previous) {
            (Some(earlier), Some(previous)) => {
                let wrapped = previous.wrapped_key(&earlier.object.sealed_by)?;
                keys_used.insert(earlier.object.sealed_by.clone(), wrapped.clone());
                (*earlier).clone()
            }
            _ => {
                let number = sealing
                    .first_number
                    .checked_add(u32::try_from(copied).map_err(BackupError::codec)?)
                    .ok_or_else(|| BackupError::codec("too many files"))?;
                copied += 1;
                copy_in(s3, uploads, backups, key, etag, size, number, &sealing).await?
            }
        };
        bytes_done += entry.size;
        entries.push(entry);
        progress(&Step {
            phase: "backing up files",
            item: key,
            items_done: i + 1,
            items_total: objects.len(),
            bytes_done,
            bytes_total: None,
        });
    }
    Ok((entries, copied))
}

/// Copies one upload (the version with `etag`) into a sealed object of its own.
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(name = "back_up_file", skip_all, fields(bytes = size))]
async fn copy_in(
    s3: &aws_sdk_s3::Client,
    uploads: &str,
    backups: &str,
    key: &str,
    etag: &str,
    size: u64,
    number: u32,
    sealing: &Sealing<'_>,
) -> Result<FileEntry, BackupError> {
    let got = s3
        .get_object()
        .bucket(uploads)
        .key(key)
        .if_match(etag)
        .send()
        .await
        .map_err(|e| BackupError::Storage {
            doing: format!("reading upload {key}"),
            reason: crate::error::chain(&e),
        })?;
    let content_type = got.content_type().map(str::to_owned);
    let mut body = got.body;
    let mut writer = ObjectWriter::new(
        s3,
        backups,
        copy_key(key, etag, sealing.backup_id),
        number,
        sealing.data_key,
        sealing.backup_id,
    )?;
    let streamed: Result<(), BackupError> = async {
        while let Some(bytes) = body.try_next().await.map_err(|e| BackupError::Storage {
            doing: format!("reading upload {key}"),
            reason: crate::error::chain(&e),
        })? {
            writer.write(&bytes).await?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = streamed {
        writer.abort().await;
        return Err(e);
    }
    let (object, _) = writer.finish().await?;
    Ok(FileEntry {
        key: key.to_owned(),
        etag: etag.to_owned(),
        size,
        content_type,
        object,
    })
}

/// What a files restore did.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FilesRestored {
    pub restored: usize,
    /// Already present with the backed-up content.
    pub unchanged: usize,
    /// Present with other content and left alone (a restore without force never reverts
    /// a live file).
    pub kept_newer: usize,
}

/// Puts the listed files back into `bucket` under their own keys: those missing, and with
/// `force` also those whose content changed since. Each copy is checked whole before it
/// is written.
pub async fn restore(
    state: &AppState,
    s3: &aws_sdk_s3::Client,
    manifest: &Manifest,
    bucket: &str,
    force: bool,
    progress: Progress<'_>,
) -> Result<FilesRestored, BackupError> {
    let backups = &state.config.resources.backups_bucket;
    let present: HashMap<String, (String, u64)> = store::list(s3, bucket, "")
        .await?
        .into_iter()
        .filter_map(|o| {
            let size = o.size().map_or(0, |s| u64::try_from(s).unwrap_or(0));
            Some((o.key?, (o.e_tag.unwrap_or_default(), size)))
        })
        .collect();
    let mut opened: HashMap<&str, DataKey> = HashMap::new();
    let mut report = FilesRestored::default();
    let total: u64 = manifest.files.iter().map(|f| f.size).sum();
    let mut bytes_done = 0u64;
    for (i, file) in manifest.files.iter().enumerate() {
        bytes_done += file.size;
        match present.get(&file.key) {
            Some(now) if *now == (file.etag.clone(), file.size) => {
                report.unchanged += 1;
                continue;
            }
            Some(_) if !force => {
                report.kept_newer += 1;
                continue;
            }
            _ => {}
        }
        let sealed_by = file.object.sealed_by.as_str();
        if !opened.contains_key(sealed_by) {
            let wrapped = manifest.wrapped_key(sealed_by)?;
            opened.insert(sealed_by, keys::unwrap(state, wrapped).await?);
        }
        put_back(s3, backups, bucket, file, &opened[sealed_by]).await?;
        report.restored += 1;
        progress(&Step {
            phase: "restoring files",
            item: &file.key,
            items_done: i + 1,
            items_total: manifest.files.len(),
            bytes_done,
            bytes_total: Some(total),
        });
    }
    Ok(report)
}

/// Reads one file's copy whole, checking it, then writes it to `bucket` under its own key
/// with its own content type. Whole before writing, so a damaged copy leaves the live file
/// as it was.
#[tracing::instrument(name = "restore_file", skip_all, fields(object = %file.object.key, bytes = file.size))]
async fn put_back(
    s3: &aws_sdk_s3::Client,
    backups: &str,
    bucket: &str,
    file: &FileEntry,
    data_key: &DataKey,
) -> Result<(), BackupError> {
    let mut content = Vec::with_capacity(usize::try_from(file.size).unwrap_or(0));
    let mut reader = store::ObjectReader::open(s3, backups, &file.object, data_key).await?;
    while let Some(plain) = reader.next().await? {
        content.extend_from_slice(&plain);
    }
    s3.put_object()
        .bucket(bucket)
        .key(&file.key)
        .set_content_type(file.content_type.clone())
        .body(ByteStream::from(content))
        .send()
        .await
        .map_err(|e| BackupError::Storage {
            doing: format!("restoring {}", file.key),
            reason: crate::error::chain(&e),
        })?;
    Ok(())
}
