//! The database a restore loads into: made when missing, given the backup's schema when
//! fresh, refused when it holds tables unless forced, and dropped again when a load into
//! a database made for it fails.

use super::{check::Source, load};
use crate::{
    backup::{ident, manifest::TableEntry, BackupError, Progress},
    db::{p, MigrationScript},
    AppState,
};

/// Loads `tables` into `target_database`, creating it when missing. A database made here
/// goes again when the load fails, so that a retry starts fresh instead of being refused
/// as not empty.
pub(super) async fn restore_into(
    state: &AppState,
    source: Source<'_>,
    tables: &[&TableEntry],
    target_database: &str,
    force: bool,
    progress: Progress<'_>,
) -> Result<(), BackupError> {
    let created = ensure_database(state, target_database).await?;
    let loaded = load_database(state, source, tables, target_database, force, progress).await;
    if let Err(e) = loaded {
        if created {
            drop_database(state, target_database).await;
        }
        return Err(e);
    }
    Ok(())
}

/// Creates `database` on the application's server unless it exists; whether it did.
pub async fn ensure_database(state: &AppState, database: &str) -> Result<bool, BackupError> {
    let client = state.db.get().await?;
    let exists = !client
        .query_typed(
            "SELECT 1 FROM pg_database WHERE datname = $1",
            &[p(&database)],
        )
        .await?
        .is_empty();
    if !exists {
        client
            .batch_execute(&format!("CREATE DATABASE {}", ident(database)))
            .await?;
    }
    Ok(!exists)
}

/// Drops a database made for a restore or a verification; a failure is logged (the
/// database is then left for an operator, named in the log).
pub async fn drop_database(state: &AppState, database: &str) {
    let dropped = async {
        let client = state.db.get().await?;
        client
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                ident(database)
            ))
            .await?;
        Ok::<_, BackupError>(())
    }
    .await;
    if let Err(e) = dropped {
        tracing::warn!(database, error = %e, "could not drop a restore's database");
    }
}

/// Connects to the target, readies its schema, and loads the tables in one transaction.
async fn load_database(
    state: &AppState,
    source: Source<'_>,
    tables: &[&TableEntry],
    target_database: &str,
    force: bool,
    progress: Progress<'_>,
) -> Result<(), BackupError> {
    let target = state.db.for_database(target_database);
    let mut client = target.get().await?;
    prepare_schema(client.raw(), source, target_database, force).await?;
    load::load_tables(client.raw(), source, tables, progress).await
}

/// Gives a target without tables the schema the backup was taken under (its own
/// migrations, not this build's). A target with tables is refused unless `force`, and
/// then only at the backup's schema version, since the rows must fit the tables.
async fn prepare_schema(
    client: &mut tokio_postgres::Client,
    source: Source<'_>,
    target_database: &str,
    force: bool,
) -> Result<(), BackupError> {
    let existing = crate::backup::snapshot::tables(&*client).await?.len();
    if existing == 0 {
        let scripts = stored_schema(source).await?;
        crate::db::migrate_with(client, &scripts).await?;
        return Ok(());
    }
    if !force {
        return Err(BackupError::TargetNotEmpty(target_database.to_owned()));
    }
    let backed_up = source.backup.manifest.schema.version;
    let version: Option<i64> = client
        .query_typed_one(
            "SELECT max(version)::int8 FROM refinery_schema_history",
            &[],
        )
        .await
        .map(|row| row.get(0))
        .unwrap_or(None);
    if version != Some(backed_up) {
        return Err(BackupError::SchemaMismatch(format!(
            "the target database is at schema V{}, the backup at V{backed_up}: restore into a fresh database",
            version.unwrap_or(0),
        )));
    }
    Ok(())
}

/// The migrations stored in the backup, read and checked whole.
#[tracing::instrument(name = "read_backup_schema", skip_all)]
async fn stored_schema(source: Source<'_>) -> Result<Vec<MigrationScript>, BackupError> {
    let mut reader = source.read(&source.backup.manifest.schema.object).await?;
    let mut json = Vec::new();
    while let Some(plain) = reader.next().await? {
        json.extend_from_slice(&plain);
    }
    serde_json::from_slice(&json)
        .map_err(|e| BackupError::ManifestInvalid(format!("the stored schema: {e}")))
}
