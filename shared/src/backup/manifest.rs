//! The manifest: what one backup holds, written after everything it lists. A backup
//! without its manifest does not exist for restore or retention.
//!
//! Layout of the backups bucket:
//!
//! ```text
//! {kind}/YYYY/MM/DD/{backupId}/manifest.json          written last
//! {kind}/YYYY/MM/DD/{backupId}/schema.sql.zst.enc     the migrations that built the schema
//! {kind}/YYYY/MM/DD/{backupId}/config.json.zst.enc    the non-secret configuration
//! {kind}/YYYY/MM/DD/{backupId}/tables/{table}.copy.zst.enc
//! files/{sha256 of the upload key}/{etag}.zst.enc     uploaded files, shared by backups
//! verifications/YYYY/MM/DD/{backupId}.json            what backup-verify found
//! ```
//!
//! The manifest is plain JSON (it holds no data, only names, counts, checksums and the
//! wrapped data keys) and carries an HMAC under the backup's data key, so an edited count
//! or checksum is caught as surely as an edited object.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{format::DataKey, keys::WrappedKey, BackupError, BackupKind};

pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST_FILE: &str = "manifest.json";

/// One stored object: its key, its number (part of every frame's nonce), the backup whose
/// data key sealed it, its stored size and the SHA-256 of its stored bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    pub key: String,
    pub number: u32,
    pub sealed_by: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationRef {
    pub version: i64,
    pub name: String,
    pub checksum: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaPart {
    /// The newest migration applied to the backed-up database.
    pub version: i64,
    pub migrations: Vec<MigrationRef>,
    /// The migrations' SQL, in order, so a restore rebuilds the schema this backup was
    /// taken under even after the code has moved on.
    pub object: ObjectRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Partition {
    pub name: String,
    /// `FOR VALUES FROM (…) TO (…)`, as PostgreSQL prints it.
    pub bound: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableEntry {
    pub name: String,
    /// The columns in the order of the stored rows (generated columns are left out).
    pub columns: Vec<String>,
    /// A partitioned table's partitions, recreated before its rows are loaded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<Partition>,
    pub rows: u64,
    /// The order-independent digest of the rows as COPY text ([`super::format::RowDigest`]).
    pub digest: String,
    /// Size of the COPY text before compression.
    pub plain_bytes: u64,
    pub object: ObjectRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SequenceValue {
    pub name: String,
    /// `None` while the sequence has never been used.
    pub last_value: Option<i64>,
}

/// One object of the uploads bucket, as it was when the backup ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    pub key: String,
    pub etag: String,
    pub size: u64,
    pub content_type: Option<String>,
    pub object: ObjectRef,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub tables: usize,
    pub rows: u64,
    pub plain_bytes: u64,
    pub stored_bytes: u64,
    pub files: usize,
    /// Files copied by this backup; the others were unchanged since an earlier one.
    pub files_copied: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: u32,
    pub backup_id: String,
    pub kind: BackupKind,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub tool_version: String,
    pub environment: String,
    pub schema: SchemaPart,
    pub config: ObjectRef,
    pub tables: Vec<TableEntry>,
    pub sequences: Vec<SequenceValue>,
    pub files: Vec<FileEntry>,
    /// Wrapped data keys by backup id: this backup's, and those of the earlier backups
    /// whose file copies it lists.
    pub keys: BTreeMap<String, WrappedKey>,
    /// The RDS cluster snapshot requested beside this backup, if any.
    pub rds_snapshot: Option<String>,
    pub totals: Totals,
    /// HMAC-SHA256 under the data key of the manifest with this field empty.
    #[serde(default)]
    pub mac: String,
}

/// Where a backup's objects live: `{kind}/YYYY/MM/DD/{backupId}/`.
pub fn prefix(kind: BackupKind, started_at: DateTime<Utc>, backup_id: &str) -> String {
    format!(
        "{}/{:04}/{:02}/{:02}/{backup_id}/",
        kind.as_str(),
        started_at.year(),
        started_at.month(),
        started_at.day()
    )
}

/// How a backup id writes its start, to the millisecond so that ids sort as backups ran.
const ID_TIME: &str = "%Y%m%dT%H%M%S%3fZ";

/// A backup's id: its start time and kind, plus a random tail so two started in the same
/// millisecond do not collide (`20261202T050000123Z-daily-3f9a1c`).
pub fn new_backup_id(kind: BackupKind, started_at: DateTime<Utc>) -> String {
    let tail = &uuid::Uuid::new_v4().simple().to_string()[..6];
    format!("{}-{}-{tail}", started_at.format(ID_TIME), kind.as_str())
}

/// The start time written in a backup id.
pub fn started_at_of(backup_id: &str) -> Option<DateTime<Utc>> {
    let stamp = backup_id.get(..19)?;
    chrono::NaiveDateTime::parse_from_str(stamp, ID_TIME)
        .ok()
        .map(|t| t.and_utc())
}

impl Manifest {
    /// The manifest's own key.
    pub fn key(&self) -> String {
        format!(
            "{}{MANIFEST_FILE}",
            prefix(self.kind, self.started_at, &self.backup_id)
        )
    }

    /// Every object the backup needs, in restore order: schema, config, tables, files.
    pub fn objects(&self) -> impl Iterator<Item = &ObjectRef> {
        [&self.schema.object, &self.config]
            .into_iter()
            .chain(self.tables.iter().map(|t| &t.object))
            .chain(self.files.iter().map(|f| &f.object))
    }

    fn mac_bytes(&self, key: &DataKey) -> Result<String, BackupError> {
        let mut unsigned = self.clone();
        unsigned.mac = String::new();
        let bytes = serde_json::to_vec(&unsigned).map_err(BackupError::codec)?;
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&key.0).map_err(BackupError::codec)?;
        mac.update(&bytes);
        Ok(hex::encode(mac.finalize().into_bytes()))
    }

    pub fn sign(&mut self, key: &DataKey) -> Result<(), BackupError> {
        self.mac = self.mac_bytes(key)?;
        Ok(())
    }

    /// The wrapped key of a backup this manifest lists copies of (its own or an earlier
    /// one's, for files sealed by it).
    pub(crate) fn wrapped_key(&self, backup_id: &str) -> Result<&WrappedKey, BackupError> {
        self.keys.get(backup_id).ok_or_else(|| {
            BackupError::ManifestInvalid(format!("no wrapped key for backup {backup_id}"))
        })
    }

    /// Proves the manifest is the one the backup wrote, under its own data key.
    pub fn check_mac(&self, key: &DataKey) -> Result<(), BackupError> {
        use subtle::ConstantTimeEq;
        let expected = self.mac_bytes(key)?;
        if expected.as_bytes().ct_eq(self.mac.as_bytes()).into() {
            Ok(())
        } else {
            Err(BackupError::Damaged {
                object: self.key(),
                reason: "the manifest's MAC does not match its contents".into(),
            })
        }
    }
}

/// A complete backup as the bucket lists it (its manifest exists), without reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    pub kind: BackupKind,
    pub backup_id: String,
    pub started_at: DateTime<Utc>,
    pub manifest_key: String,
}

impl Listed {
    /// Reads a manifest key back into what it names; `None` for any other key.
    pub fn from_key(key: &str) -> Option<Self> {
        let mut parts = key.split('/');
        let kind: BackupKind = parts.next()?.parse().ok()?;
        let (_y, _m, _d) = (parts.next()?, parts.next()?, parts.next()?);
        let backup_id = parts.next()?.to_owned();
        if parts.next()? != MANIFEST_FILE || parts.next().is_some() {
            return None;
        }
        let started_at = started_at_of(&backup_id)?;
        Some(Self {
            kind,
            backup_id,
            started_at,
            manifest_key: key.to_owned(),
        })
    }

    /// The folder holding the backup's own objects.
    pub fn prefix(&self) -> String {
        prefix(self.kind, self.started_at, &self.backup_id)
    }
}
