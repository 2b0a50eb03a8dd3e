//! What the backup reads of the database's catalog: the application's tables and their
//! shapes, the sequences' positions, and the migrations that built the schema. A restore
//! and the verification read the same through these, so all three agree on what "the
//! application's tables" are.

use std::collections::BTreeMap;

use tokio_postgres::GenericClient;

use crate::{
    backup::{
        ident,
        manifest::{Partition, SequenceValue},
        BackupError,
    },
    db::MigrationScript,
};

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
pub(super) async fn schema_scripts(
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
