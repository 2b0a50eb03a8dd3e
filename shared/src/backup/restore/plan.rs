//! What one restore reads from a backup: the tables it loads and the objects it checks.

use std::collections::HashSet;

use super::RestoreRequest;
use crate::backup::{
    manifest::{FileEntry, Manifest, ObjectRef, TableEntry},
    BackupError,
};

/// The parts of a backup a request covers.
pub(super) struct Plan<'a> {
    /// The tables to load, in the manifest's order (none when only files are restored).
    pub tables: Vec<&'a TableEntry>,
    /// The files to put back (none when only the database is restored).
    pub files: &'a [FileEntry],
    /// Every object to check before anything is written.
    pub objects: Vec<&'a ObjectRef>,
}

impl<'a> Plan<'a> {
    /// The plan for `request` over `manifest`; a table the backup does not hold is refused.
    pub fn of(manifest: &'a Manifest, request: &RestoreRequest) -> Result<Self, BackupError> {
        let tables = if request.scope.database() {
            chosen_tables(manifest, request.tables.as_deref())?
        } else {
            Vec::new()
        };
        let files: &[FileEntry] = if request.scope.files() {
            &manifest.files
        } else {
            &[]
        };
        let mut objects: Vec<&ObjectRef> = Vec::new();
        // The configuration is checked on every restore: it is part of the backup, and a
        // flipped byte in it is as much a sign of tampering as one anywhere else.
        objects.push(&manifest.config);
        if request.scope.database() {
            objects.push(&manifest.schema.object);
            objects.extend(tables.iter().map(|t| &t.object));
        }
        objects.extend(files.iter().map(|f| &f.object));
        Ok(Self {
            tables,
            files,
            objects,
        })
    }
}

/// The tables a request names, in the manifest's order; an unknown name is refused.
fn chosen_tables<'a>(
    manifest: &'a Manifest,
    names: Option<&[String]>,
) -> Result<Vec<&'a TableEntry>, BackupError> {
    let Some(names) = names else {
        return Ok(manifest.tables.iter().collect());
    };
    let known: HashSet<&str> = manifest.tables.iter().map(|t| t.name.as_str()).collect();
    let unknown: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !known.contains(n))
        .collect();
    if !unknown.is_empty() {
        return Err(BackupError::Invalid(format!(
            "the backup holds no table named {}",
            unknown.join(", ")
        )));
    }
    Ok(manifest
        .tables
        .iter()
        .filter(|t| names.contains(&t.name))
        .collect())
}
