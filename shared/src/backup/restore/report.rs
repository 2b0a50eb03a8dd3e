//! What a restore (or its dry run) reports.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{plan::Plan, RestoreRequest};
use crate::backup::{files::FilesRestored, manifest::Manifest};

/// What a restore (or its dry run) did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    pub manifest_key: String,
    pub backup_id: String,
    pub backup_started_at: DateTime<Utc>,
    pub schema_version: i64,
    pub dry_run: bool,
    /// Objects checked (size, SHA-256, every frame) and their stored bytes.
    pub objects_checked: usize,
    pub bytes_checked: u64,
    pub target_database: Option<String>,
    /// Rows restored per table (for a dry run, the rows that would be).
    pub tables: BTreeMap<String, u64>,
    pub files: Option<FilesRestored>,
    pub files_planned: usize,
    pub seconds: f64,
}

impl RestoreReport {
    /// The report once every object of the plan has been checked: what a dry run
    /// answers, and what a restore completes with the files it put back and its time.
    pub(super) fn checked(
        request: &RestoreRequest,
        manifest_key: String,
        manifest: &Manifest,
        plan: &Plan<'_>,
        bytes_checked: u64,
        target_database: &str,
    ) -> Self {
        Self {
            manifest_key,
            backup_id: manifest.backup_id.clone(),
            backup_started_at: manifest.started_at,
            schema_version: manifest.schema.version,
            dry_run: request.dry_run,
            objects_checked: plan.objects.len(),
            bytes_checked,
            target_database: request.scope.database().then(|| target_database.to_owned()),
            tables: plan
                .tables
                .iter()
                .map(|t| (t.name.clone(), t.rows))
                .collect(),
            files: None,
            files_planned: plan.files.len(),
            seconds: 0.0,
        }
    }
}
