//! Restore: check a backup whole, then load it into a database and the uploads bucket.
//!
//! Every run starts with the check: the manifest's MAC, every listed object's size and
//! SHA-256, every frame's authentication and the data keys' unwrapping. A dry run stops
//! there and prints the plan. A real restore writes nothing until the check has passed,
//! then loads the tables in one transaction (foreign keys dropped and re-added, so their
//! order does not matter and integrity is proven at the end; user triggers off, so rows
//! arrive as they were), sets the sequences, and counts every table against the manifest
//! before committing. Any failure rolls the whole load back.

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::SinkExt;
use serde::Serialize;
use tokio_postgres::GenericClient;

use super::{
    files::{self, FilesRestored},
    format::DataKey,
    ident, keys,
    manifest::{Manifest, ObjectRef, TableEntry},
    store::{self, ObjectReader},
    BackupError, Progress, Step, STABLE_TEXT,
};
use crate::{
    db::{p, MigrationScript},
    AppState,
};

/// What to restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Scope {
    Everything,
    DatabaseOnly,
    FilesOnly,
}

impl Scope {
    fn database(self) -> bool {
        self != Scope::FilesOnly
    }
    fn files(self) -> bool {
        self != Scope::DatabaseOnly
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

/// A manifest read from the bucket, with its data keys opened and its MAC proven.
pub struct OpenedBackup {
    pub manifest: Manifest,
    keys: HashMap<String, DataKey>,
}

impl OpenedBackup {
    pub fn key_for(&self, object: &ObjectRef) -> Result<&DataKey, BackupError> {
        self.keys.get(&object.sealed_by).ok_or_else(|| {
            BackupError::ManifestInvalid(format!("no data key for backup {}", object.sealed_by))
        })
    }
}

/// The word a restore may name instead of a manifest key: the newest complete backup.
pub const LATEST: &str = "latest";

/// A manifest key, or [`LATEST`] resolved to the newest complete backup's.
pub async fn resolve(
    state: &AppState,
    s3: &aws_sdk_s3::Client,
    manifest_key: &str,
) -> Result<String, BackupError> {
    if manifest_key != LATEST {
        return Ok(manifest_key.to_owned());
    }
    super::retention::list(s3, &state.config.resources.backups_bucket)
        .await?
        .pop()
        .map(|l| l.manifest_key)
        .ok_or_else(|| BackupError::NotFound("latest: the bucket holds no complete backup".into()))
}

/// Reads and authenticates a manifest. A key with no manifest is no backup.
pub async fn open(
    state: &AppState,
    s3: &aws_sdk_s3::Client,
    manifest_key: &str,
) -> Result<OpenedBackup, BackupError> {
    let bucket = &state.config.resources.backups_bucket;
    let manifest: Manifest = store::get_json(s3, bucket, manifest_key)
        .await?
        .ok_or_else(|| BackupError::NotFound(manifest_key.to_owned()))?;
    if manifest.format != super::manifest::FORMAT_VERSION {
        return Err(BackupError::ManifestInvalid(format!(
            "format {} is not one this build reads ({})",
            manifest.format,
            super::manifest::FORMAT_VERSION
        )));
    }
    if manifest.key() != manifest_key {
        return Err(BackupError::ManifestInvalid(format!(
            "{manifest_key} describes the backup at {}",
            manifest.key()
        )));
    }
    let mut opened = HashMap::new();
    for (backup_id, wrapped) in &manifest.keys {
        opened.insert(backup_id.clone(), keys::unwrap(state, wrapped).await?);
    }
    let own = opened.get(&manifest.backup_id).ok_or_else(|| {
        BackupError::ManifestInvalid("the manifest carries no key of its own backup".into())
    })?;
    manifest.check_mac(own)?;
    Ok(OpenedBackup {
        manifest,
        keys: opened,
    })
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

/// Reads every object of the plan whole, checking it, writing nothing.
async fn check(
    state: &AppState,
    s3: &aws_sdk_s3::Client,
    backup: &OpenedBackup,
    objects: &[&ObjectRef],
    progress: Progress<'_>,
) -> Result<u64, BackupError> {
    let bucket = &state.config.resources.backups_bucket;
    let total: u64 = objects.iter().map(|o| o.bytes).sum();
    let mut done = 0u64;
    for (i, object) in objects.iter().enumerate() {
        let mut reader = ObjectReader::open(s3, bucket, object, backup.key_for(object)?).await?;
        while reader.next().await?.is_some() {}
        done += reader.stored_bytes;
        progress(&Step {
            phase: "checking",
            item: &object.key,
            items_done: i + 1,
            items_total: objects.len(),
            bytes_done: done,
            bytes_total: Some(total),
        });
    }
    Ok(done)
}

/// Checks a backup and, unless it is a dry run, restores it.
pub async fn run(
    state: &AppState,
    request: &RestoreRequest,
    progress: Progress<'_>,
) -> Result<RestoreReport, BackupError> {
    let clock = std::time::Instant::now();
    let s3 = store::client(state);
    let manifest_key = resolve(state, &s3, &request.manifest_key).await?;
    let backup = open(state, &s3, &manifest_key).await?;
    let manifest = &backup.manifest;
    let tables = if request.scope.database() {
        chosen_tables(manifest, request.tables.as_deref())?
    } else {
        Vec::new()
    };
    let mut objects: Vec<&ObjectRef> = Vec::new();
    // The configuration is checked on every restore: it is part of the backup, and a
    // flipped byte in it is as much a sign of tampering as one anywhere else.
    objects.push(&manifest.config);
    if request.scope.database() {
        objects.push(&manifest.schema.object);
        objects.extend(tables.iter().map(|t| &t.object));
    }
    if request.scope.files() {
        objects.extend(manifest.files.iter().map(|f| &f.object));
    }
    let bytes_checked = check(state, &s3, &backup, &objects, progress).await?;
    let target_database = request
        .target_database
        .clone()
        .unwrap_or_else(|| default_target(&manifest_key));
    let mut report = RestoreReport {
        manifest_key,
        backup_id: manifest.backup_id.clone(),
        backup_started_at: manifest.started_at,
        schema_version: manifest.schema.version,
        dry_run: request.dry_run,
        objects_checked: objects.len(),
        bytes_checked,
        target_database: request.scope.database().then(|| target_database.clone()),
        tables: tables.iter().map(|t| (t.name.clone(), t.rows)).collect(),
        files: None,
        files_planned: if request.scope.files() {
            manifest.files.len()
        } else {
            0
        },
        seconds: 0.0,
    };
    if request.dry_run {
        report.seconds = clock.elapsed().as_secs_f64();
        return Ok(report);
    }
    if request.scope.database() {
        let created = ensure_database(state, &target_database).await?;
        let loaded = load_database(
            state,
            &s3,
            &backup,
            &tables,
            &target_database,
            request.force,
            progress,
        )
        .await;
        if let Err(e) = loaded {
            // A database made for this restore goes again, so that a retry starts fresh
            // instead of being refused as not empty.
            if created {
                drop_database(state, &target_database).await;
            }
            return Err(e);
        }
    }
    if request.scope.files() {
        let bucket = request
            .files_bucket
            .clone()
            .unwrap_or_else(|| state.config.resources.uploads_bucket.clone());
        report.files =
            Some(files::restore(state, &s3, manifest, &bucket, request.force, progress).await?);
    }
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
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

/// Application tables already in the target's `public` schema.
async fn existing_tables(client: &impl GenericClient) -> Result<usize, BackupError> {
    Ok(super::snapshot::tables(client).await?.len())
}

async fn schema_scripts(
    state: &AppState,
    s3: &aws_sdk_s3::Client,
    backup: &OpenedBackup,
) -> Result<Vec<MigrationScript>, BackupError> {
    let object = &backup.manifest.schema.object;
    let bucket = &state.config.resources.backups_bucket;
    let mut reader = ObjectReader::open(s3, bucket, object, backup.key_for(object)?).await?;
    let mut json = Vec::new();
    while let Some(plain) = reader.next().await? {
        json.extend_from_slice(&plain);
    }
    serde_json::from_slice(&json)
        .map_err(|e| BackupError::ManifestInvalid(format!("the stored schema: {e}")))
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

async fn load_database(
    state: &AppState,
    s3: &aws_sdk_s3::Client,
    backup: &OpenedBackup,
    tables: &[&TableEntry],
    target_database: &str,
    force: bool,
    progress: Progress<'_>,
) -> Result<(), BackupError> {
    let manifest = &backup.manifest;
    let target = state.db.for_database(target_database);
    let mut client = target.get().await?;
    if existing_tables(&*client).await? == 0 {
        let scripts = schema_scripts(state, s3, backup).await?;
        crate::db::migrate_with(&mut client, &scripts).await?;
    } else if !force {
        return Err(BackupError::TargetNotEmpty(target_database.to_owned()));
    } else {
        let version: Option<i64> = client
            .query_typed_one(
                "SELECT max(version)::int8 FROM refinery_schema_history",
                &[],
            )
            .await
            .map(|row| row.get(0))
            .unwrap_or(None);
        if version != Some(manifest.schema.version) {
            return Err(BackupError::SchemaMismatch(format!(
                "the target database is at schema V{}, the backup at V{}: restore into a fresh database",
                version.unwrap_or(0),
                manifest.schema.version
            )));
        }
    }

    let bucket = &state.config.resources.backups_bucket;
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let txn = client.transaction().await?;
    txn.batch_execute(STABLE_TEXT).await?;

    let names_param: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let foreign_keys = txn
        .query_typed(
            "SELECT c.conrelid::regclass::text AS owner, c.conname::text AS name,
                    pg_get_constraintdef(c.oid) AS definition
               FROM pg_constraint c
              WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
                AND (c.conrelid::regclass::text = ANY($1) OR c.confrelid::regclass::text = ANY($1))
                AND c.conparentid = 0",
            &[(&names_param, tokio_postgres::types::Type::TEXT_ARRAY)],
        )
        .await?;
    for fk in &foreign_keys {
        let (owner, name): (String, String) = (fk.get("owner"), fk.get("name"));
        txn.batch_execute(&format!(
            "ALTER TABLE {owner} DROP CONSTRAINT {}",
            ident(&name)
        ))
        .await?;
    }
    let quoted: Vec<String> = names.iter().map(|n| ident(n)).collect();
    if !quoted.is_empty() {
        txn.batch_execute(&format!("TRUNCATE {}", quoted.join(", ")))
            .await?;
    }
    // After the truncation, so that a default partition holding rows of a partition's
    // range (in a forced restore) is empty when the partition is made.
    for table in tables {
        for partition in &table.partitions {
            txn.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} {}",
                ident(&partition.name),
                ident(&table.name),
                partition.bound
            ))
            .await?;
        }
    }
    let total: u64 = tables.iter().map(|t| t.object.bytes).sum();
    let mut done = 0u64;
    for (i, table) in tables.iter().enumerate() {
        txn.batch_execute(&format!(
            "ALTER TABLE {} DISABLE TRIGGER USER",
            ident(&table.name)
        ))
        .await?;
        let columns: Vec<String> = table.columns.iter().map(|c| ident(c)).collect();
        let sink = txn
            .copy_in::<_, Bytes>(&format!(
                "COPY {} ({}) FROM STDIN",
                ident(&table.name),
                columns.join(", ")
            ))
            .await?;
        futures_util::pin_mut!(sink);
        let mut reader =
            ObjectReader::open(s3, bucket, &table.object, backup.key_for(&table.object)?).await?;
        while let Some(plain) = reader.next().await? {
            sink.send(Bytes::from(plain)).await?;
        }
        let rows = sink.as_mut().finish().await?;
        txn.batch_execute(&format!(
            "ALTER TABLE {} ENABLE TRIGGER USER",
            ident(&table.name)
        ))
        .await?;
        if rows != table.rows {
            return Err(BackupError::Mismatch(format!(
                "{} loaded {rows} rows, the manifest lists {}",
                table.name, table.rows
            )));
        }
        done += reader.stored_bytes;
        progress(&Step {
            phase: "restoring",
            item: &table.name,
            items_done: i + 1,
            items_total: tables.len(),
            bytes_done: done,
            bytes_total: Some(total),
        });
    }
    for fk in &foreign_keys {
        let (owner, name, definition): (String, String, String) =
            (fk.get("owner"), fk.get("name"), fk.get("definition"));
        txn.batch_execute(&format!(
            "ALTER TABLE {owner} ADD CONSTRAINT {} {definition}",
            ident(&name)
        ))
        .await
        .map_err(|e| {
            BackupError::Mismatch(format!(
                "the restored rows break the foreign key {name} of {owner} ({}); restore the tables it links too",
                crate::error::chain(&e)
            ))
        })?;
    }
    restore_sequences(&txn, manifest, &names).await?;
    for table in tables {
        let row = txn
            .query_typed_one(
                &format!("SELECT count(*)::int8 FROM {}", ident(&table.name)),
                &[],
            )
            .await?;
        let count: i64 = row.get(0);
        if u64::try_from(count).ok() != Some(table.rows) {
            return Err(BackupError::Mismatch(format!(
                "{} holds {count} rows, the manifest lists {}",
                table.name, table.rows
            )));
        }
    }
    txn.commit().await?;
    Ok(())
}

/// Sets the sequences owned by the restored tables (all of them on a full restore) to
/// where they were.
async fn restore_sequences(
    txn: &tokio_postgres::Transaction<'_>,
    manifest: &Manifest,
    tables: &[&str],
) -> Result<(), BackupError> {
    let owned = txn
        .query_typed(
            "SELECT s.relname::text AS sequence, t.relname::text AS owner
               FROM pg_class s
               JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
                AND d.deptype IN ('a', 'i')
               JOIN pg_class t ON t.oid = d.refobjid
              WHERE s.relkind = 'S' AND s.relnamespace = 'public'::regnamespace",
            &[],
        )
        .await?;
    let owner_of: HashMap<String, String> = owned
        .iter()
        .map(|r| (r.get("sequence"), r.get("owner")))
        .collect();
    let everything = tables.len() == manifest.tables.len();
    for sequence in &manifest.sequences {
        let ours = owner_of
            .get(&sequence.name)
            .is_some_and(|t| tables.contains(&t.as_str()));
        if !(everything || ours) {
            continue;
        }
        let name = ident(&sequence.name);
        match sequence.last_value {
            Some(value) => {
                txn.execute_typed(
                    "SELECT setval($1::regclass, $2, true)",
                    &[p(&name), p(&value)],
                )
                .await?
            }
            None => {
                txn.batch_execute(&format!("ALTER SEQUENCE {name} RESTART"))
                    .await?;
                0
            }
        };
    }
    Ok(())
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

fn yes() -> bool {
    true
}

impl Scope {
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

/// The fresh database a restore goes into when none is named: `restore_` and the backup id.
pub fn default_target(manifest_key: &str) -> String {
    let id = super::manifest::Listed::from_key(manifest_key)
        .map_or_else(|| manifest_key.to_owned(), |l| l.backup_id);
    let safe: String = id
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("restore_{safe}")
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
}
