//! Copying a whole results database to another, on either engine (`pixelcnn store copy`): a
//! cluster's PostgreSQL results into a laptop's SQLite file, or a local SQLite history into a
//! shared server. Every table is copied row by row with typed values, so nothing is converted
//! through text, and [`Store::dump`] compares the two databases afterwards.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{Result, StoreError};

/// How a column is read and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Int,
    Float,
    /// Read as 0/1 (SQLite has no boolean values), written as a boolean.
    Bool,
    Bytes,
}

use Kind::{Bool, Bytes, Float, Int, Text};

/// A table: its name, its columns with their kinds, and its key columns.
type Table = (&'static str, &'static [(&'static str, Kind)], &'static [&'static str]);

/// Every table with its columns, in an order that satisfies the foreign keys, and its key
/// columns (for sorting dumps). `copy.rs`'s test checks this list against the migrated schema,
/// so a migration that adds a column cannot be forgotten here.
const TABLES: &[Table] = &[
    ("experiments", &[("id", Text), ("name", Text), ("description", Text), ("created_at", Text)], &["id"]),
    (
        "sweeps",
        &[
            ("id", Text),
            ("experiment_id", Text),
            ("file", Text),
            ("file_hash", Text),
            ("profile", Text),
            ("overrides", Text),
            ("tag", Text),
            ("note", Text),
            ("created_at", Text),
        ],
        &["id"],
    ),
    ("config_locks", &[("config_hash", Text), ("created_at", Text), ("claimed_at", Text)], &["config_hash"]),
    (
        "runs",
        &[
            ("id", Text),
            ("experiment_id", Text),
            ("sweep_id", Text),
            ("config_hash", Text),
            ("config_json", Text),
            ("config_toml", Text),
            ("varying_json", Text),
            ("epochs_target", Int),
            ("device", Text),
            ("threads", Int),
            ("created_at", Text),
            ("started_at", Text),
            ("ended_at", Text),
            ("heartbeat_at", Text),
            ("worker_pid", Int),
            ("worker_host", Text),
            ("git_commit", Text),
            ("git_dirty", Bool),
            ("versions_json", Text),
            ("error", Text),
            ("tags", Text),
            ("note", Text),
            ("rerun_of", Text),
            ("lease_token", Text),
            ("slurm_job_id", Text),
            ("slurm_array_job_id", Text),
            ("slurm_array_task_id", Int),
            // Last since migration 0005 rebuilt it (to allow `pruned`).
            ("status", Text),
        ],
        &["id"],
    ),
    (
        "epochs",
        &[
            ("run_id", Text),
            ("epoch", Int),
            ("step", Int),
            ("train_nll", Float),
            ("validation_nll", Float),
            ("test_nll", Float),
            ("test_bits_per_dim", Float),
            ("test_nats_per_image", Float),
            ("lr", Float),
            ("seconds", Float),
            ("images_per_second", Float),
            ("recorded_at", Text),
        ],
        &["run_id", "epoch"],
    ),
    (
        "artefacts",
        &[
            ("id", Text),
            ("run_id", Text),
            ("epoch", Int),
            ("kind", Text),
            ("name", Text),
            ("media_type", Text),
            ("data", Bytes),
            ("path", Text),
            ("sha256", Text),
            ("size_bytes", Int),
            ("created_at", Text),
            ("deleted_at", Text),
        ],
        &["id"],
    ),
    (
        "rerun_verdicts",
        &[
            ("run_id", Text),
            ("original_id", Text),
            ("verdict", Text),
            ("epochs_compared", Int),
            ("first_epoch", Int),
            ("metric", Text),
            ("original_value", Float),
            ("rerun_value", Float),
            ("max_relative_difference", Float),
            ("tolerance", Float),
            ("environment_changed", Bool),
            ("environment_note", Text),
            ("created_at", Text),
        ],
        &["run_id"],
    ),
    (
        "searches",
        &[
            ("id", Text),
            ("experiment_id", Text),
            ("metric", Text),
            ("reduction_factor", Int),
            ("grace_epochs", Int),
            ("max_epochs", Int),
            ("created_at", Text),
            ("decided_at", Text),
            ("promotion", Text),
        ],
        &["id"],
    ),
    (
        "search_configs",
        &[("experiment_id", Text), ("config_hash", Text), ("search_id", Text), ("joined_at", Text)],
        &["experiment_id", "config_hash"],
    ),
    (
        "rung_decisions",
        &[
            ("run_id", Text),
            ("rung", Int),
            ("search_id", Text),
            ("config_hash", Text),
            ("epoch", Int),
            ("metric", Text),
            ("metric_value", Float),
            ("arrival_rank", Int),
            ("recorded", Int),
            ("quota", Int),
            ("decision", Text),
            ("decided_at", Text),
        ],
        &["run_id", "rung"],
    ),
];

/// One stored value, as typed as the schema makes it. Floats compare by bits, so that a dump
/// comparison means "the same bytes of every number".
#[derive(Clone, Debug)]
pub enum Cell {
    /// NULL.
    Null,
    /// TEXT.
    Text(String),
    /// BIGINT.
    Int(i64),
    /// DOUBLE PRECISION.
    Float(f64),
    /// BOOLEAN.
    Bool(bool),
    /// BYTEA (BLOB on SQLite).
    Bytes(Vec<u8>),
}

impl PartialEq for Cell {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Cell::Float(a), Cell::Float(b)) => a.to_bits() == b.to_bits(),
            (Cell::Null, Cell::Null) => true,
            (Cell::Text(a), Cell::Text(b)) => a == b,
            (Cell::Int(a), Cell::Int(b)) => a == b,
            (Cell::Bool(a), Cell::Bool(b)) => a == b,
            (Cell::Bytes(a), Cell::Bytes(b)) => a == b,
            _ => false,
        }
    }
}

/// Every table's rows, sorted by key (byte order, the same on both engines).
pub type Dump = BTreeMap<&'static str, Vec<Vec<Cell>>>;

/// Rows copied per table, in [`TABLES`] order.
pub type CopyCounts = Vec<(&'static str, u64)>;

fn select_sql(table: &str, columns: &[(&str, Kind)]) -> String {
    let list: Vec<String> = columns
        .iter()
        .map(|(name, kind)| match kind {
            Bool => format!("CASE WHEN {name} THEN 1 WHEN NOT {name} THEN 0 END AS {name}"),
            _ => (*name).to_owned(),
        })
        .collect();
    format!("SELECT {} FROM {table}", list.join(", "))
}

fn insert_sql(table: &str, columns: &[(&str, Kind)]) -> String {
    let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    let marks: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    format!("INSERT INTO {table} ({}) VALUES ({})", names.join(", "), marks.join(", "))
}

fn cell(row: &AnyRow, i: usize, kind: Kind) -> std::result::Result<Cell, sqlx::Error> {
    Ok(match kind {
        Text => row.try_get::<Option<String>, _>(i)?.map_or(Cell::Null, Cell::Text),
        Int => row.try_get::<Option<i64>, _>(i)?.map_or(Cell::Null, Cell::Int),
        Float => row.try_get::<Option<f64>, _>(i)?.map_or(Cell::Null, Cell::Float),
        Bool => row.try_get::<Option<i64>, _>(i)?.map_or(Cell::Null, |v| Cell::Bool(v != 0)),
        Bytes => row.try_get::<Option<Vec<u8>>, _>(i)?.map_or(Cell::Null, Cell::Bytes),
    })
}

fn key_order(columns: &[(&str, Kind)], keys: &[&str]) -> Vec<usize> {
    keys.iter().map(|k| columns.iter().position(|(n, _)| n == k).expect("key is a column")).collect()
}

fn compare_cells(a: &Cell, b: &Cell) -> std::cmp::Ordering {
    match (a, b) {
        (Cell::Text(a), Cell::Text(b)) => a.cmp(b),
        (Cell::Int(a), Cell::Int(b)) => a.cmp(b),
        _ => std::cmp::Ordering::Equal,
    }
}

impl Store {
    /// Every row of every table, typed and sorted by key: what [`Store::copy_to`] moves, and what
    /// must compare equal between a database and its copy.
    pub async fn dump(&self) -> Result<Dump> {
        let mut out = Dump::new();
        for (table, columns, keys) in TABLES {
            let rows = sqlx::query(&select_sql(table, columns))
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.err(e))?;
            let mut cells = rows
                .iter()
                .map(|row| (0..columns.len()).map(|i| cell(row, i, columns[i].1)).collect())
                .collect::<std::result::Result<Vec<Vec<Cell>>, _>>()
                .map_err(|e| self.err(e))?;
            let order = key_order(columns, keys);
            cells.sort_by(|a, b| {
                order
                    .iter()
                    .map(|&i| compare_cells(&a[i], &b[i]))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            out.insert(*table, cells);
        }
        Ok(out)
    }

    /// Copies every row of this database into `target`, in one transaction there. The target must
    /// hold no experiment yet (a fresh database, or one just migrated): merging two histories could
    /// silently keep one side's version of a run. Returns the rows copied per table.
    pub async fn copy_to(&self, target: &Store) -> Result<CopyCounts> {
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM experiments")
            .fetch_one(&target.pool)
            .await
            .map_err(|e| target.err(e))?;
        if existing > 0 {
            return Err(StoreError::Invalid {
                db: target.db.to_string(),
                message: format!(
                    "the target already holds {existing} experiment(s); `store copy` only fills an empty \
                     database (copy into a new file or database, or remove the target's rows first)"
                ),
            });
        }
        let dump = self.dump().await?;
        let mut tx = target.pool.begin().await.map_err(|e| target.err(e))?;
        let mut counts = CopyCounts::new();
        for (table, columns, _) in TABLES {
            let sql = insert_sql(table, columns);
            let rows = &dump[table];
            for row in rows {
                let mut query = sqlx::query(&sql);
                for (value, (_, kind)) in row.iter().zip(columns.iter()) {
                    query = match value {
                        // A NULL carries its column's type: PostgreSQL refuses a text NULL in a
                        // BIGINT column.
                        Cell::Null => match kind {
                            Text => query.bind(None::<String>),
                            Int => query.bind(None::<i64>),
                            Float => query.bind(None::<f64>),
                            Bool => query.bind(None::<bool>),
                            Bytes => query.bind(None::<Vec<u8>>),
                        },
                        Cell::Text(v) => query.bind(v.as_str()),
                        Cell::Int(v) => query.bind(*v),
                        Cell::Float(v) => query.bind(*v),
                        Cell::Bool(v) => query.bind(*v),
                        Cell::Bytes(v) => query.bind(v.as_slice()),
                    };
                }
                query.execute(&mut *tx).await.map_err(|e| target.err_writing(table, e))?;
            }
            counts.push((*table, rows.len() as u64));
        }
        tx.commit().await.map_err(|e| target.err(e))?;
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The column lists above are the migrated schema's, table by table and in full.
    #[tokio::test]
    async fn every_table_and_column_is_copied() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&crate::url_from_path(&dir.path().join("s.db"))).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' \
             AND name NOT LIKE 'sqlite%'",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        let mut listed: Vec<&str> = TABLES.iter().map(|(t, _, _)| *t).collect();
        let mut found: Vec<&str> = tables.iter().map(String::as_str).collect();
        listed.sort_unstable();
        found.sort_unstable();
        assert_eq!(listed, found);
        for (table, columns, _) in TABLES {
            let names: Vec<String> =
                sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .fetch_all(&store.pool)
                    .await
                    .unwrap();
            let listed: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
            assert_eq!(listed, names, "columns of {table}");
        }
    }
}
