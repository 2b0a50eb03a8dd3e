//! Backups of the database and the uploaded files, and the restore that proves them.
//!
//! - [`snapshot`]: the `backup` job. Every application table streams out of one
//!   repeatable-read snapshot with `COPY … TO STDOUT`, beside the schema (the migrations
//!   that built it) and the non-secret configuration; the uploads bucket follows,
//!   incrementally by ETag ([`files`]); the manifest is written last.
//! - [`format`]: zstd, then AES-256-GCM frames bound to their backup, object and place;
//!   the order-independent row digest. [`keys`]: a data key per backup, wrapped by KMS or
//!   by a master key in Secrets Manager. [`store`]: multipart upload and checked download.
//! - [`manifest`]: what a backup holds and where its objects live.
//! - [`restore`]: the plan, the dry run (every checksum, frame and key checked, nothing
//!   written) and the restore into a database, all in one transaction, rows counted
//!   against the manifest after.
//! - [`retention`]: which backups to keep (daily 30 days, weekly 12 weeks, monthly 12
//!   months, never the newest of a kind); [`verify`]: the monthly restore into a scratch
//!   database, compared table by table, raising an alert on a mismatch.
//! - [`rds`]: the RDS cluster snapshot and point-in-time restore, when a cluster is set.
//!
//! Memory stays bounded whatever the tables' sizes: rows stream through one compression
//! window and one frame at a time, with one multipart part uploading while the next fills.

pub mod files;
pub mod format;
pub mod keys;
pub mod manifest;
pub mod rds;
pub mod restore;
pub mod retention;
pub mod snapshot;
pub mod store;
pub mod verify;

use crate::{error::ApiError, text_enum::text_enum};

text_enum! {
    /// Which schedule made a backup; its folder and its retention.
    pub enum BackupKind ("backup kind") {
        Daily = "daily",
        Weekly = "weekly",
        Monthly = "monthly",
        Manual = "manual",
    }
}

/// Why a backup, a restore or a verification did not happen. Each names the object,
/// table or key concerned.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "no backup key is configured (BACKUP_KMS_KEY_ID or BACKUP_KEY_SECRET_ID): refusing to \
         write an unencrypted backup"
    )]
    NoKey,
    #[error("the backup key {key} is configured but unusable: {reason}")]
    KeyUnusable { key: String, reason: String },
    #[error("{object} is damaged or was altered: {reason}")]
    Damaged { object: String, reason: String },
    #[error("{object} is listed in the manifest but missing from the bucket")]
    Missing { object: String },
    #[error("no complete backup at {0} (a backup without its manifest does not exist)")]
    NotFound(String),
    #[error("the manifest is unreadable: {0}")]
    ManifestInvalid(String),
    #[error(
        "the target database {0} already holds tables; restore into a fresh database, or \
         pass force to replace the rows of the restored tables"
    )]
    TargetNotEmpty(String),
    #[error("{0}")]
    SchemaMismatch(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the restored data differs from the manifest: {0}")]
    Mismatch(String),
    #[error("database: {0}")]
    Database(String),
    #[error("{doing}: {reason}")]
    Storage { doing: String, reason: String },
    #[error("encoding: {0}")]
    Codec(String),
}

impl BackupError {
    pub(crate) fn codec(err: impl std::fmt::Display) -> Self {
        Self::Codec(err.to_string())
    }

    pub(crate) fn key(key: &str, err: &dyn std::error::Error) -> Self {
        Self::KeyUnusable {
            key: key.to_owned(),
            reason: crate::error::chain(err),
        }
    }
}

impl From<tokio_postgres::Error> for BackupError {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::Database(crate::error::chain(&err))
    }
}

impl From<ApiError> for BackupError {
    fn from(err: ApiError) -> Self {
        Self::Database(crate::error::chain(&err))
    }
}

/// One step of a long operation, for whoever watches: the ops functions log it, the
/// command-line tool draws it on the terminal.
#[derive(Debug, Clone)]
pub struct Step<'a> {
    /// `backing up`, `checking`, `restoring`, `verifying`.
    pub phase: &'a str,
    /// The table, file or object just finished.
    pub item: &'a str,
    pub items_done: usize,
    pub items_total: usize,
    pub bytes_done: u64,
    /// Known when the manifest gives it (checks and restores); a backup learns its size
    /// as it goes.
    pub bytes_total: Option<u64>,
}

/// Receives [`Step`]s.
pub type Progress<'a> = &'a (dyn Fn(&Step<'_>) + Send + Sync);

/// Progress as log lines (the ops functions).
pub fn log_progress(step: &Step<'_>) {
    tracing::info!(
        phase = step.phase,
        item = step.item,
        items_done = step.items_done,
        items_total = step.items_total,
        bytes_done = step.bytes_done,
        bytes_total = step.bytes_total,
        "backup progress"
    );
}

pub(crate) use crate::db::quote_ident as ident;

/// Session settings that fix the text form of every value, so the rows a backup writes
/// and the rows a restore reads back compare byte for byte.
pub(crate) const STABLE_TEXT: &str =
    "SET LOCAL TIME ZONE 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; \
     SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 3; \
     SET LOCAL bytea_output = 'hex'; SET LOCAL statement_timeout = 0; \
     SET LOCAL idle_in_transaction_session_timeout = 0";
