//! The `backup` job: one consistent snapshot of the database, the uploaded files and the
//! configuration, written as sealed objects, then the manifest.
//!
//! Objects are numbered in the order they are written (the number is part of every
//! frame's nonce): the schema 0, the configuration 1, the tables from 2 in name order,
//! then the files the backup copies.
//!
//! - `catalog`: the tables, sequences and migrations the backup reads;
//! - `config`: the configuration it records (never a secret).

mod catalog;
mod config;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Serialize;

pub use self::catalog::{sequences, tables, TableShape};
use super::{
    files,
    format::DataKey,
    keys::{self, WrappedKey},
    manifest::{
        self, FileEntry, Manifest, MigrationRef, ObjectRef, SchemaPart, SequenceValue, TableEntry,
        Totals,
    },
    rds,
    store::{self, ObjectWriter},
    BackupError, BackupKind, Progress, Step, STABLE_TEXT,
};
use crate::{db::MigrationScript, AppState};

/// What one backup did, for the job's answer and the operator's terminal.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupReport {
    pub backup_id: String,
    pub kind: BackupKind,
    pub manifest_key: String,
    pub schema_version: i64,
    pub totals: Totals,
    pub seconds: f64,
    pub rds_snapshot: Option<String>,
}

/// Takes one backup of `kind`. Nothing is written before the key proves usable, and the
/// manifest is written only after every object it lists.
#[tracing::instrument(name = "take_backup", skip_all, fields(kind = %kind))]
pub async fn run(
    state: &AppState,
    kind: BackupKind,
    now: DateTime<Utc>,
    progress: Progress<'_>,
) -> Result<BackupReport, BackupError> {
    let clock = std::time::Instant::now();
    let (data_key, wrapped) = keys::new_data_key(state).await?;
    let backup_id = manifest::new_backup_id(kind, now);
    let s3 = store::client(state);
    let destination = Destination {
        s3: &s3,
        bucket: &state.config.resources.backups_bucket,
        prefix: manifest::prefix(kind, now, &backup_id),
        data_key: &data_key,
        backup_id: &backup_id,
    };
    let database = Box::pin(back_up_database(state, &destination, progress)).await?;

    let mut keys = BTreeMap::from([(backup_id.clone(), wrapped)]);
    let sealing = files::Sealing {
        data_key: &data_key,
        backup_id: &backup_id,
        first_number: database.next_object_number()?,
    };
    let (files, files_copied) =
        Box::pin(files::back_up(state, &s3, sealing, &mut keys, progress)).await?;

    // A snapshot that cannot be requested fails the job, but only after the manifest: the
    // logical backup is whole and worth keeping either way.
    let (rds_snapshot, rds_failure) = request_rds_snapshot(state, &backup_id).await;

    let contents = Contents {
        database,
        files,
        files_copied,
        keys,
        rds_snapshot,
    };
    let mut manifest = manifest_of(state, kind, now, &backup_id, contents);
    manifest.sign(&data_key)?;
    let manifest_key = manifest.key();
    store::put_json(&s3, destination.bucket, &manifest_key, &manifest).await?;
    if let Some(failure) = rds_failure {
        return Err(failure);
    }
    Ok(BackupReport {
        backup_id,
        kind,
        manifest_key,
        schema_version: manifest.schema.version,
        totals: manifest.totals,
        seconds: clock.elapsed().as_secs_f64(),
        rds_snapshot: manifest.rds_snapshot,
    })
}

/// Where one backup's objects go and how each is sealed.
struct Destination<'a> {
    s3: &'a aws_sdk_s3::Client,
    bucket: &'a str,
    /// The backup's own folder.
    prefix: String,
    data_key: &'a DataKey,
    backup_id: &'a str,
}

impl Destination<'_> {
    /// A writer of the object `name` in the backup's folder, numbered `number`.
    fn writer(&self, name: &str, number: u32) -> Result<ObjectWriter, BackupError> {
        ObjectWriter::new(
            self.s3,
            self.bucket,
            format!("{}{name}", self.prefix),
            number,
            self.data_key,
            self.backup_id,
        )
    }
}

/// What a backup wrote of the database, and the configuration beside it.
struct DatabaseCopy {
    schema_version: i64,
    scripts: Vec<MigrationScript>,
    schema: ObjectRef,
    config: ObjectRef,
    tables: Vec<TableEntry>,
    sequences: Vec<SequenceValue>,
}

impl DatabaseCopy {
    /// The number of the first object after the schema, the configuration and the tables:
    /// the files' numbers start there.
    fn next_object_number(&self) -> Result<u32, BackupError> {
        u32::try_from(self.tables.len() + 2).map_err(BackupError::codec)
    }
}

/// Copies the database out of one repeatable-read, read-only snapshot, so every table,
/// the schema and the sequences are of the same moment: the migrations that built the
/// schema (object 0), the configuration (1), every table (2 on), then the sequences.
async fn back_up_database(
    state: &AppState,
    destination: &Destination<'_>,
    progress: Progress<'_>,
) -> Result<DatabaseCopy, BackupError> {
    let mut client = state.db.get().await?;
    // A repeatable-read snapshot of its own, on the raw client: these statements run once.
    let snapshot = client
        .raw()
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    snapshot.batch_execute(STABLE_TEXT).await?;
    let (schema_version, scripts) = catalog::schema_scripts(&snapshot).await?;
    let schema_json = serde_json::to_vec(&scripts).map_err(BackupError::codec)?;
    let schema = small_object(destination.writer("schema.sql.zst.enc", 0)?, &schema_json).await?;
    let config_json =
        serde_json::to_vec_pretty(&config::config_record(state)).map_err(BackupError::codec)?;
    let config = small_object(destination.writer("config.json.zst.enc", 1)?, &config_json).await?;
    let tables = Box::pin(dump_tables(&snapshot, destination, progress)).await?;
    let sequences = sequences(&snapshot).await?;
    snapshot.commit().await?;
    Ok(DatabaseCopy {
        schema_version,
        scripts,
        schema,
        config,
        tables,
        sequences,
    })
}

/// Streams every application table into its object (numbered from 2), reporting progress
/// by plain bytes.
async fn dump_tables(
    snapshot: &tokio_postgres::Transaction<'_>,
    destination: &Destination<'_>,
    progress: Progress<'_>,
) -> Result<Vec<TableEntry>, BackupError> {
    let shapes = tables(snapshot).await?;
    let mut entries = Vec::with_capacity(shapes.len());
    let mut bytes_done = 0u64;
    for (i, table) in shapes.iter().enumerate() {
        let number = u32::try_from(i + 2).map_err(BackupError::codec)?;
        let name = format!("tables/{}.copy.zst.enc", table.name);
        let entry = dump_table(snapshot, table, destination.writer(&name, number)?).await?;
        bytes_done += entry.plain_bytes;
        progress(&Step {
            phase: "backing up",
            item: &table.name,
            items_done: i + 1,
            items_total: shapes.len(),
            bytes_done,
            bytes_total: None,
        });
        entries.push(entry);
    }
    Ok(entries)
}

/// Writes one small object from bytes in memory.
async fn small_object(writer: ObjectWriter, bytes: &[u8]) -> Result<ObjectRef, BackupError> {
    let mut writer = writer;
    match writer.write(bytes).await {
        Ok(()) => Ok(writer.finish().await?.0),
        Err(e) => {
            writer.abort().await;
            Err(e)
        }
    }
}

/// Streams one table into its object, digesting its rows on the way.
#[tracing::instrument(name = "dump_table", skip_all, fields(table = %table.name))]
async fn dump_table(
    client: &tokio_postgres::Transaction<'_>,
    table: &TableShape,
    mut writer: ObjectWriter,
) -> Result<TableEntry, BackupError> {
    let mut digest = super::format::RowDigest::default();
    let result: Result<(), BackupError> = async {
        let stream = client.copy_out(table.copy_out().as_str()).await?;
        futures_util::pin_mut!(stream);
        while let Some(bytes) = stream.next().await {
            let bytes = bytes?;
            digest.update(&bytes);
            writer.write(&bytes).await?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        writer.abort().await;
        return Err(e);
    }
    let (object, plain_bytes) = writer.finish().await?;
    let (rows, digest) = digest.finish();
    Ok(TableEntry {
        name: table.name.clone(),
        columns: table.columns.clone(),
        partitions: table.partitions.clone(),
        rows,
        digest,
        plain_bytes,
        object,
    })
}

/// Requests the RDS cluster snapshot when a cluster is configured: its name, or why it
/// could not be requested. The failure is handed back rather than raised, so the caller
/// writes the manifest first.
async fn request_rds_snapshot(
    state: &AppState,
    backup_id: &str,
) -> (Option<String>, Option<BackupError>) {
    match &state.config.backups.rds_cluster_id {
        Some(cluster) => match rds::snapshot_cluster(state, cluster, backup_id).await {
            Ok(name) => (Some(name), None),
            Err(e) => (None, Some(e)),
        },
        None => (None, None),
    }
}

/// Everything a backup wrote before its manifest.
struct Contents {
    database: DatabaseCopy,
    files: Vec<FileEntry>,
    files_copied: usize,
    /// Wrapped data keys by backup id: this backup's and those of reused file copies.
    keys: BTreeMap<String, WrappedKey>,
    rds_snapshot: Option<String>,
}

/// The manifest listing `contents`, finished now and not yet signed.
fn manifest_of(
    state: &AppState,
    kind: BackupKind,
    started_at: DateTime<Utc>,
    backup_id: &str,
    contents: Contents,
) -> Manifest {
    let totals = totals(&contents);
    let Contents {
        database,
        files,
        keys,
        rds_snapshot,
        ..
    } = contents;
    Manifest {
        format: manifest::FORMAT_VERSION,
        backup_id: backup_id.to_owned(),
        kind,
        started_at,
        finished_at: Utc::now(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        environment: state.config.environment.as_str().to_owned(),
        schema: SchemaPart {
            version: database.schema_version,
            migrations: database
                .scripts
                .iter()
                .map(|m| MigrationRef {
                    version: m.version,
                    name: m.name.clone(),
                    checksum: m.checksum.clone(),
                })
                .collect(),
            object: database.schema,
        },
        config: database.config,
        tables: database.tables,
        sequences: database.sequences,
        files,
        keys,
        rds_snapshot,
        totals,
        mac: String::new(),
    }
}

/// The counts and sizes the manifest sums up.
fn totals(contents: &Contents) -> Totals {
    let Contents {
        database, files, ..
    } = contents;
    let tables = &database.tables;
    Totals {
        tables: tables.len(),
        rows: tables.iter().map(|t| t.rows).sum(),
        plain_bytes: tables.iter().map(|t| t.plain_bytes).sum(),
        stored_bytes: database.schema.bytes
            + database.config.bytes
            + tables.iter().map(|t| t.object.bytes).sum::<u64>()
            + files.iter().map(|f| f.object.bytes).sum::<u64>(),
        files: files.len(),
        files_copied: contents.files_copied,
    }
}

/// What the `backup` job is sent: `{"kind": "daily"}` from its schedules, `{}` (or
/// `{"kind": "manual"}`) by hand.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub struct BackupEvent {
    #[serde(default)]
    kind: Option<BackupKind>,
}

impl BackupEvent {
    /// The kind asked for; `manual` when the event names none.
    pub fn kind(&self) -> BackupKind {
        self.kind.unwrap_or(BackupKind::Manual)
    }
}
