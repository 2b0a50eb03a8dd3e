//! Restore: check a backup whole, then load it into a database and the uploads bucket.
//!
//! Every run starts with the check: the manifest's MAC, every listed object's size and
//! SHA-256, every frame's authentication and the data keys' unwrapping. A dry run stops
//! there and prints the plan. A real restore writes nothing until the check has passed,
//! then loads the tables in one transaction (foreign keys dropped and re-added, so their
//! order does not matter and integrity is proven at the end; user triggers off, so rows
//! arrive as they were), sets the sequences, and counts every table against the manifest
//! before committing. Any failure rolls the whole load back.
//!
//! - `request`: what is asked (the request, its scope, the `backup-restore` event);
//! - `check`: finding and opening the backup, and checking its objects;
//! - `plan`: the tables and objects a request covers;
//! - `database`: the target database and its schema; `load`: the transaction that loads
//!   the tables;
//! - `report`: what a restore answers. The files go back through
//!   [`files::restore`](super::files::restore).

mod check;
mod database;
mod load;
mod plan;
mod report;
mod request;

pub use check::{open, resolve, OpenedBackup, LATEST};
pub use database::{drop_database, ensure_database};
pub use report::RestoreReport;
pub use request::{default_target, RestoreRequest, Scope};

use self::{check::Source, plan::Plan};
use super::{files, store, BackupError, Progress};
use crate::AppState;

/// Checks a backup and, unless it is a dry run, restores it: the tables first, then the
/// files.
#[tracing::instrument(
    name = "restore_backup",
    skip_all,
    fields(scope = ?request.scope, dry_run = request.dry_run, force = request.force)
)]
pub async fn run(
    state: &AppState,
    request: &RestoreRequest,
    progress: Progress<'_>,
) -> Result<RestoreReport, BackupError> {
    let clock = std::time::Instant::now();
    let s3 = store::client(state);
    let manifest_key = resolve(state, &s3, &request.manifest_key).await?;
    let backup = open(state, &s3, &manifest_key).await?;
    let source = Source {
        s3: &s3,
        bucket: &state.config.resources.backups_bucket,
        backup: &backup,
    };
    let plan = Plan::of(&backup.manifest, request)?;
    let bytes_checked = check::check_objects(source, &plan.objects, progress).await?;
    let target_database = request.target_database_for(&manifest_key);
    let mut report = RestoreReport::checked(
        request,
        manifest_key,
        &backup.manifest,
        &plan,
        bytes_checked,
        &target_database,
    );
    // A dry run ends here: everything it would read has been read and proven.
    if !request.dry_run {
        if request.scope.database() {
            let (tables, force) = (&plan.tables, request.force);
            database::restore_into(state, source, tables, &target_database, force, progress)
                .await?;
        }
        if request.scope.files() {
            let bucket = request.files_bucket_in(state);
            let manifest = &backup.manifest;
            let restored =
                files::restore(state, &s3, manifest, &bucket, request.force, progress).await?;
            report.files = Some(restored);
        }
    }
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}
