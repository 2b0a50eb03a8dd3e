//! Loading the tables: one transaction that replaces the chosen tables' rows with the
//! backed-up ones and proves them before committing.
//!
//! Foreign keys are dropped and re-added, so the tables' order does not matter and
//! integrity is proven at the end; user triggers are off while rows stream in, so they
//! arrive as they were. Any failure rolls the whole load back.

use std::collections::HashMap;

use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::{types::Type, Transaction};

use super::check::Source;
use crate::{
    backup::{
        ident,
        manifest::{Manifest, TableEntry},
        BackupError, Progress, Step, STABLE_TEXT,
    },
    db::p,
};

/// Loads `tables` from the backup in one transaction: drops the foreign keys that touch
/// them, empties them, makes their partitions, streams their rows in, puts the foreign
/// keys back, sets the sequences, and counts every table against the manifest before
/// committing.
pub(super) async fn load_tables(
    client: &mut tokio_postgres::Client,
    source: Source<'_>,
    tables: &[&TableEntry],
    progress: Progress<'_>,
) -> Result<(), BackupError> {
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let txn = client.transaction().await?;
    txn.batch_execute(STABLE_TEXT).await?;
    let foreign_keys = drop_foreign_keys(&txn, &names).await?;
    truncate(&txn, &names).await?;
    // After the truncation, so that a default partition holding rows of a partition's
    // range (in a forced restore) is empty when the partition is made.
    create_partitions(&txn, tables).await?;
    copy_tables_in(&txn, source, tables, progress).await?;
    add_foreign_keys(&txn, &foreign_keys).await?;
    restore_sequences(&txn, &source.backup.manifest, &names).await?;
    check_row_counts(&txn, tables).await?;
    txn.commit().await?;
    Ok(())
}

/// A foreign key as PostgreSQL prints it, to drop and add again.
struct ForeignKey {
    /// The table that holds the constraint, as `regclass` text (already quoted).
    owner: String,
    name: String,
    definition: String,
}

/// Drops every foreign key from or to one of `tables`, returning them to add back once
/// all rows are in: while loading, a row may arrive before the row it refers to.
async fn drop_foreign_keys(
    txn: &Transaction<'_>,
    tables: &[&str],
) -> Result<Vec<ForeignKey>, BackupError> {
    let names: Vec<String> = tables.iter().map(|n| (*n).to_owned()).collect();
    let rows = txn
        .query_typed(
            "SELECT c.conrelid::regclass::text AS owner, c.conname::text AS name,
                    pg_get_constraintdef(c.oid) AS definition
               FROM pg_constraint c
              WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
                AND (c.conrelid::regclass::text = ANY($1) OR c.confrelid::regclass::text = ANY($1))
                AND c.conparentid = 0",
            &[(&names, Type::TEXT_ARRAY)],
        )
        .await?;
    let foreign_keys: Vec<ForeignKey> = rows
        .iter()
        .map(|row| ForeignKey {
            owner: row.get("owner"),
            name: row.get("name"),
            definition: row.get("definition"),
        })
        .collect();
    for fk in &foreign_keys {
        txn.batch_execute(&format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            fk.owner,
            ident(&fk.name)
        ))
        .await?;
    }
    Ok(foreign_keys)
}

/// Empties the tables, so the backed-up rows replace theirs (a forced restore).
async fn truncate(txn: &Transaction<'_>, tables: &[&str]) -> Result<(), BackupError> {
    let quoted: Vec<String> = tables.iter().map(|n| ident(n)).collect();
    if !quoted.is_empty() {
        txn.batch_execute(&format!("TRUNCATE {}", quoted.join(", ")))
            .await?;
    }
    Ok(())
}

/// Makes the partitions the backup recorded that the target lacks (the migrations make
/// only the partitions of the day they ran).
async fn create_partitions(
    txn: &Transaction<'_>,
    tables: &[&TableEntry],
) -> Result<(), BackupError> {
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
    Ok(())
}

/// Streams every table's rows in, reporting progress by stored bytes.
async fn copy_tables_in(
    txn: &Transaction<'_>,
    source: Source<'_>,
    tables: &[&TableEntry],
    progress: Progress<'_>,
) -> Result<(), BackupError> {
    let total: u64 = tables.iter().map(|t| t.object.bytes).sum();
    let mut done = 0u64;
    for (i, table) in tables.iter().enumerate() {
        done += copy_table_in(txn, source, table).await?;
        progress(&Step {
            phase: "restoring",
            item: &table.name,
            items_done: i + 1,
            items_total: tables.len(),
            bytes_done: done,
            bytes_total: Some(total),
        });
    }
    Ok(())
}

/// Streams one table's object into `COPY … FROM STDIN`, with the table's own triggers off
/// so rows arrive as they were; refuses a row count other than the manifest's. Returns
/// the stored bytes read.
#[tracing::instrument(name = "load_table", skip_all, fields(table = %table.name))]
async fn copy_table_in(
    txn: &Transaction<'_>,
    source: Source<'_>,
    table: &TableEntry,
) -> Result<u64, BackupError> {
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
    let mut reader = source.read(&table.object).await?;
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
    Ok(reader.stored_bytes)
}

/// Adds the dropped foreign keys back, which proves the restored rows consistent; a
/// partial restore whose rows refer to tables it left out fails here.
async fn add_foreign_keys(
    txn: &Transaction<'_>,
    foreign_keys: &[ForeignKey],
) -> Result<(), BackupError> {
    for ForeignKey {
        owner,
        name,
        definition,
    } in foreign_keys
    {
        txn.batch_execute(&format!(
            "ALTER TABLE {owner} ADD CONSTRAINT {} {definition}",
            ident(name)
        ))
        .await
        .map_err(|e| {
            BackupError::Mismatch(format!(
                "the restored rows break the foreign key {name} of {owner} ({}); restore the tables it links too",
                crate::error::chain(&e)
            ))
        })?;
    }
    Ok(())
}

/// Sets the sequences owned by the restored tables (all of them on a full restore) to
/// where they were.
async fn restore_sequences(
    txn: &Transaction<'_>,
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

/// Counts every restored table inside the transaction, so a commit means the rows the
/// manifest lists are there, whatever the triggers or constraints did on the way.
async fn check_row_counts(
    txn: &Transaction<'_>,
    tables: &[&TableEntry],
) -> Result<(), BackupError> {
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
    Ok(())
}
