//! What a restore is asked to do: the request, its scope, and the `backup-restore` event
//! it is read from.

use serde::Serialize;

use crate::{backup::BackupError, AppState};

/// What to restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Scope {
    Everything,
    DatabaseOnly,
    FilesOnly,
}

impl Scope {
    /// Whether the tables are restored.
    pub(super) fn database(self) -> bool {
        self != Scope::FilesOnly
    }

    /// Whether the uploaded files are restored.
    pub(super) fn files(self) -> bool {
        self != Scope::DatabaseOnly
    }

    pub fn parse(text: &str) -> Result<Self, BackupError> {
        match text {
            "everything" => Ok(Scope::Everything),
            "database" => Ok(Scope::DatabaseOnly),
            "files" => Ok(Scope::FilesOnly),
            other => Err(BackupError::Invalid(format!(
                "scope must be everything, database or files, got {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RestoreRequest {
    pub manifest_key: String,
    /// The database to load into, on the application's server (`restore_<backup id>` when
    /// `None`). It is created when it does not exist; one that already holds tables is
    /// refused without `force`.
    pub target_database: Option<String>,
    /// The bucket files go back into (the uploads bucket by default).
    pub files_bucket: Option<String>,
    /// A subset of the tables; all of them when `None`.
    pub tables: Option<Vec<String>>,
    pub scope: Scope,
    /// Load into a database that already holds tables (replacing the restored tables'
    /// rows), and put back files whose content changed since the backup.
    pub force: bool,
    pub dry_run: bool,
}

impl RestoreRequest {
    /// Reads the `backup-restore` event; a dry run unless `dryRun` is `false`.
    pub fn from_event(event: &serde_json::Value) -> Result<Self, BackupError> {
        let event: RestoreEvent = serde_json::from_value(event.clone())
            .map_err(|e| BackupError::Invalid(format!("the restore event: {e}")))?;
        Ok(Self {
            target_database: event.target_database,
            files_bucket: event.files_bucket,
            tables: event.tables,
            scope: event
                .scope
                .as_deref()
                .map_or(Ok(Scope::Everything), Scope::parse)?,
            force: event.force,
            dry_run: event.dry_run,
            manifest_key: event.manifest,
        })
    }

    /// The database the tables go into: the one named, or [`default_target`] of the
    /// backup at `manifest_key` (the resolved key, never [`super::LATEST`]).
    pub(super) fn target_database_for(&self, manifest_key: &str) -> String {
        self.target_database
            .clone()
            .unwrap_or_else(|| default_target(manifest_key))
    }

    /// The bucket the files go back into: the one named, or the uploads bucket.
    pub(super) fn files_bucket_in(&self, state: &AppState) -> String {
        self.files_bucket
            .clone()
            .unwrap_or_else(|| state.config.resources.uploads_bucket.clone())
    }
}

/// The event the `backup-restore` function takes.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RestoreEvent {
    manifest: String,
    #[serde(default = "yes")]
    dry_run: bool,
    target_database: Option<String>,
    tables: Option<Vec<String>>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    force: bool,
    files_bucket: Option<String>,
}

/// An event that does not say otherwise asks for a dry run: a restore writes only when
/// told to.
fn yes() -> bool {
    true
}

/// The fresh database a restore goes into when none is named: `restore_` and the backup id.
pub fn default_target(manifest_key: &str) -> String {
    let id = crate::backup::manifest::Listed::from_key(manifest_key)
        .map_or_else(|| manifest_key.to_owned(), |l| l.backup_id);
    let safe: String = id
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("restore_{safe}")
}
