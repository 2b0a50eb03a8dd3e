//! The `backup` job: one consistent snapshot of the database, the uploaded files and the
//! configuration, written as sealed objects, then the manifest.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Serialize;
use tokio_postgres::GenericClient;

use super::{
    files, ident,
    keys::{self, WrappedKey},
    manifest::{
        self, FileEntry, Manifest, MigrationRef, ObjectRef, Partition, SchemaPart, SequenceValue,
        TableEntry, Totals,
    },
    rds,
    store::{self, ObjectWriter},
    BackupError, BackupKind, Progress, Step, STABLE_TEXT,
};
use crate::{db::MigrationScript, AppState};

/// A table as the backup copies it: its columns and, when partitioned, its partitions.
#[derive(Debug, Clone)]
pub struct TableShape {
    pub name: String,
    pub columns: Vec<String>,
    pub partitions: Vec<Partition>,
    /// A partitioned table is read through its partitions; any other only by itself
    /// (`ONLY`), so a table inherited from is not read twice.
    pub partitioned: bool,
}

impl TableShape {
    /// The statement that streams the table's rows. A query rather than the table name,
    /// because PostgreSQL copies a partitioned table only through a query.
    pub fn copy_out(&self) -> String {
        let columns: Vec<String> = self.columns.iter().map(|c| ident(c)).collect();
        let only = if self.partitioned { "" } else { "ONLY " };
        format!(
            "COPY (SELECT {} FROM {only}{}) TO STDOUT",
            columns.join(", "),
            ident(&self.name)
        )
    }
}

/// The application's tables: every ordinary or partitioned table of the `public` schema,
/// leaving out partitions (copied through their parent), tables that belong to an
/// extension (PostGIS' `spatial_ref_sys`) and the migrations' own history.
pub async fn tables(client: &impl GenericClient) -> Result<Vec<TableShape>, BackupError> {
    let rows = client
        .query_typed(
            "SELECT c.relname::text AS relname,
                    ARRAY(SELECT a.attname::text FROM pg_attribute a
                           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                             AND a.attgenerated = '' ORDER BY a.attnum) AS columns,
                                        ARRAY(SELECT p.relname::text FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid
                           WHERE i.inhparent = c.oid AND p.relispartition ORDER BY p.relname) AS partitions,
                                        ARRAY(SELECT pg_get_expr(p.relpartbound, p.oid) FROM pg_inherits i
                           JOIN pg_class p ON p.oid = i.inhrelid
                           WHERE i.inhparent = c.oid AND p.relispartition ORDER BY p.relname) AS bounds,
                    c.relkind = 'p' AS partitioned
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                AND c.relname <> 'refinery_schema_history'
                AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                   AND d.deptype = 'e')
              ORDER BY c.relname",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let partitions: Vec<String> = row.get("partitions");
            let bounds: Vec<String> = row.get("bounds");
            TableShape {
                name: row.get("relname"),
                columns: row.get("columns"),
                partitioned: row.get("partitioned"),
                partitions: partitions
                    .into_iter()
                    .zip(bounds)
                    .map(|(name, bound)| Partition { name, bound })
                    .collect(),
            }
        })
        .collect())
}

/// The `public` sequences' positions.
pub async fn sequences(client: &impl GenericClient) -> Result<Vec<SequenceValue>, BackupError> {
    let rows = client
        .query_typed(
            "SELECT sequencename::text AS name, last_value FROM pg_sequences
              WHERE schemaname = 'public' ORDER BY sequencename",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| SequenceValue {
            name: row.get("name"),
            last_value: row.get("last_value"),
        })
        .collect())
}

/// The migrations applied to the database, checked against this build's: the backup
/// stores this build's scripts as the schema, so they must be the ones that ran.
async fn schema_scripts(
    client: &impl GenericClient,
) -> Result<(i64, Vec<MigrationScript>), BackupError> {
    let rows = client
        .query_typed(
            "SELECT version::int8 AS version, name, checksum FROM refinery_schema_history ORDER BY version",
            &[],
        )
        .await?;
    let built: BTreeMap<i64, MigrationScript> = crate::db::migration_scripts()
        .into_iter()
        .map(|m| (m.version, m))
        .collect();
    let mut scripts = Vec::new();
    for row in &rows {
        let version: i64 = row.get("version");
        let checksum: String = row.get("checksum");
        let script = built.get(&version).ok_or_else(|| {
            BackupError::SchemaMismatch(format!(
                "the database has migration V{version}, which this build does not know; back up with the build that applied it"
            ))
        })?;
        if script.checksum != checksum {
            return Err(BackupError::SchemaMismatch(format!(
                "migration V{version} in the database differs from this build's (checksum {checksum}, built {})",
                script.checksum
            )));
        }
        scripts.push(script.clone());
    }
    let version = scripts.last().map_or(0, |m| m.version);
    Ok((version, scripts))
}

/// What the backup records of the configuration: names and settings needed to rebuild a
/// deployment, never a secret (secret ids are names; their values stay in Secrets Manager).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigRecord<'a> {
    environment: &'a str,
    service: &'a str,
    database: String,
    app_table: &'a str,
    uploads_bucket: &'a str,
    backups_bucket: &'a str,
    jwt_secret_id: &'a str,
    jwt_issuer: &'a str,
    allowed_origins: &'a [String],
    geo: String,
    location_retention_days: i64,
    deleted_file_retention_days: i64,
    error_retention_days: i64,
    notification_sender: Option<&'a str>,
    backup_key: Option<String>,
    backup_retention: &'a crate::config::BackupRetention,
}

fn config_record(state: &AppState) -> ConfigRecord<'_> {
    let c = &state.config;
    ConfigRecord {
        environment: c.environment.as_str(),
        service: &c.service_name,
        database: format!(
            "{}:{}/{}",
            c.database.host,
            c.database.port,
            c.database.pg.get_dbname().unwrap_or_default()
        ),
        app_table: &c.resources.app_table,
        uploads_bucket: &c.resources.uploads_bucket,
        backups_bucket: &c.resources.backups_bucket,
        jwt_secret_id: &c.auth.jwt_secret_id,
        jwt_issuer: &c.auth.jwt_issuer,
        allowed_origins: &c.auth.allowed_origins,
        geo: format!("{:?}", c.geo),
        location_retention_days: c.drivers.location_retention.num_days(),
        deleted_file_retention_days: c.uploads.deleted_retention.num_days(),
        error_retention_days: c.monitoring.error_retention.num_days(),
        notification_sender: c.notifications.sender.as_deref(),
        backup_key: c.backups.key.as_ref().map(|k| k.to_string()),
        backup_retention: &c.backups.retention,
    }
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

/// Streams one table into its object.
async fn copy_table(
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
pub async fn run(
    state: &AppState,
    kind: BackupKind,
    now: DateTime<Utc>,
    progress: Progress<'_>,
) -> Result<BackupReport, BackupError> {
    let clock = std::time::Instant::now();
    let (data_key, wrapped) = keys::new_data_key(state).await?;
    let backup_id = manifest::new_backup_id(kind, now);
    let prefix = manifest::prefix(kind, now, &backup_id);
    let s3 = store::client(state);
    let bucket = state.config.resources.backups_bucket.clone();
    let writer = |name: &str, number: u32| {
        ObjectWriter::new(
            &s3,
            &bucket,
            format!("{prefix}{name}"),
            number,
            &data_key,
            &backup_id,
        )
    };

    let mut client = state.db.get().await?;
    let snapshot = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    snapshot.batch_execute(STABLE_TEXT).await?;
    let (schema_version, scripts) = schema_scripts(&snapshot).await?;
    let schema_json = serde_json::to_vec(&scripts).map_err(BackupError::codec)?;
    let schema_object = small_object(writer("schema.sql.zst.enc", 0)?, &schema_json).await?;
    let config_json =
        serde_json::to_vec_pretty(&config_record(state)).map_err(BackupError::codec)?;
    let config_object = small_object(writer("config.json.zst.enc", 1)?, &config_json).await?;

    let shapes = tables(&snapshot).await?;
    let mut entries = Vec::with_capacity(shapes.len());
    let mut bytes_done = 0u64;
    for (i, table) in shapes.iter().enumerate() {
        let number = u32::try_from(i + 2).map_err(BackupError::codec)?;
        let entry = copy_table(
            &snapshot,
            table,
            writer(&format!("tables/{}.copy.zst.enc", table.name), number)?,
        )
        .await?;
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
    let sequences = sequences(&snapshot).await?;
    snapshot.commit().await?;
    drop(client);

    let first_file_number = u32::try_from(shapes.len() + 2).map_err(BackupError::codec)?;
    let mut keys_used = BTreeMap::from([(backup_id.clone(), wrapped.clone())]);
    let (file_entries, files_copied) = files::back_up(
        state,
        &s3,
        files::Sealing {
            data_key: &data_key,
            backup_id: &backup_id,
            first_number: first_file_number,
        },
        &mut keys_used,
        progress,
    )
    .await?;

    // A snapshot that cannot be requested fails the job, but only after the manifest: the
    // logical backup is whole and worth keeping either way.
    let (rds_snapshot, rds_failure) = match &state.config.backups.rds_cluster_id {
        Some(cluster) => match rds::snapshot_cluster(state, cluster, &backup_id).await {
            Ok(name) => (Some(name), None),
            Err(e) => (None, Some(e)),
        },
        None => (None, None),
    };

    let totals = totals(
        &entries,
        &file_entries,
        &schema_object,
        &config_object,
        files_copied,
    );
    let mut manifest = Manifest {
        format: manifest::FORMAT_VERSION,
        backup_id: backup_id.clone(),
        kind,
        started_at: now,
        finished_at: Utc::now(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        environment: state.config.environment.as_str().to_owned(),
        schema: SchemaPart {
            version: schema_version,
            migrations: scripts
                .iter()
                .map(|m| MigrationRef {
                    version: m.version,
                    name: m.name.clone(),
                    checksum: m.checksum.clone(),
                })
                .collect(),
            object: schema_object,
        },
        config: config_object,
        tables: entries,
        sequences,
        files: file_entries,
        keys: keys_used,
        rds_snapshot: rds_snapshot.clone(),
        totals,
        mac: String::new(),
    };
    manifest.sign(&data_key)?;
    let manifest_key = manifest.key();
    store::put_json(&s3, &bucket, &manifest_key, &manifest).await?;
    if let Some(failure) = rds_failure {
        return Err(failure);
    }
    Ok(BackupReport {
        backup_id,
        kind,
        manifest_key,
        schema_version,
        totals: manifest.totals,
        seconds: clock.elapsed().as_secs_f64(),
        rds_snapshot,
    })
}

fn totals(
    tables: &[TableEntry],
    files: &[FileEntry],
    schema: &ObjectRef,
    config: &ObjectRef,
    files_copied: usize,
) -> Totals {
    Totals {
        tables: tables.len(),
        rows: tables.iter().map(|t| t.rows).sum(),
        plain_bytes: tables.iter().map(|t| t.plain_bytes).sum(),
        stored_bytes: schema.bytes
            + config.bytes
            + tables.iter().map(|t| t.object.bytes).sum::<u64>()
            + files.iter().map(|f| f.object.bytes).sum::<u64>(),
        files: files.len(),
        files_copied,
    }
}

/// The wrapped key of a backup, for files sealed by an earlier one.
pub(crate) fn key_of<'a>(
    manifest: &'a Manifest,
    backup_id: &str,
) -> Result<&'a WrappedKey, BackupError> {
    manifest.keys.get(backup_id).ok_or_else(|| {
        BackupError::ManifestInvalid(format!("no wrapped key for backup {backup_id}"))
    })
}

/// The kind a `backup` event asks for: its `kind` (the schedules set it), `manual` when
/// absent.
/// What the `backup` job is sent: `{"kind": "daily"}` from its schedules, `{}` (or
/// `{"kind": "manual"}`) by hand.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub struct BackupEvent {
    #[serde(default)]
    kind: Option<BackupKind>,
}

impl BackupEvent {
    pub fn kind(&self) -> BackupKind {
        self.kind.unwrap_or(BackupKind::Manual)
    }
}
