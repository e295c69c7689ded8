//! Copying a whole results database to another, on either engine (`pixelcnn store copy`): a
//! cluster's PostgreSQL results into a laptop's SQLite file, or a local SQLite history into a
//! shared server. Every table is copied row by row with typed values, so nothing is converted
//! through text, and [`Store::dump`] compares the two databases afterwards.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::{Engine, Store};

/// How a column is read and written, from its type in the schema.
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

impl Kind {
    /// The kind of a column declared (SQLite) or reported (PostgreSQL) with type `ty`.
    fn of(ty: &str) -> Option<Kind> {
        Some(match ty.to_ascii_lowercase().as_str() {
            "text" => Text,
            "bigint" | "integer" => Int,
            "double precision" | "real" => Float,
            "boolean" => Bool,
            "bytea" | "blob" => Bytes,
            _ => return None,
        })
    }
}

/// Every table, in an order that satisfies the foreign keys, with the columns that sort its
/// dump. The columns themselves are read from the schema ([`Store::columns`]), so a migration
/// that adds one (a new metric in `epochs`) is copied with no edit here; the test checks this
/// list against the schema's tables.
const TABLES: &[(&str, &[&str])] = &[
    ("experiments", &["id"]),
    ("sweeps", &["id"]),
    ("config_locks", &["config_hash"]),
    ("runs", &["id"]),
    ("epochs", &["run_id", "epoch"]),
    ("artefacts", &["id"]),
    ("rerun_verdicts", &["run_id"]),
    ("searches", &["id"]),
    ("search_configs", &["experiment_id", "config_hash"]),
    ("rung_decisions", &["run_id", "rung"]),
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

/// One table's rows, sorted by key (byte order, the same on both engines), with its columns
/// by name (so that the two engines, whose column order may differ, dump alike).
#[derive(Clone, Debug, PartialEq)]
pub struct TableDump {
    /// The column names, sorted.
    pub columns: Vec<String>,
    /// The rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

/// Every table's dump, by table name.
pub type Dump = BTreeMap<&'static str, TableDump>;

/// Rows copied per table, in [`TABLES`] order.
pub type CopyCounts = Vec<(&'static str, u64)>;

/// A table's columns as the schema has them, sorted by name.
type Columns = Vec<(String, Kind)>;

fn select_sql(table: &str, columns: &Columns) -> String {
    let list: Vec<String> = columns
        .iter()
        .map(|(name, kind)| match kind {
            Bool => format!("CASE WHEN {name} THEN 1 WHEN NOT {name} THEN 0 END AS {name}"),
            _ => name.clone(),
        })
        .collect();
    format!("SELECT {} FROM {table}", list.join(", "))
}

fn insert_sql(table: &str, columns: &Columns) -> String {
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
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

fn key_order(columns: &Columns, keys: &[&str]) -> Vec<usize> {
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
    /// The columns of `table` in this database's schema, sorted by name.
    async fn columns(&self, table: &str) -> Result<Columns> {
        let sql = match self.engine {
            Engine::Sqlite => "SELECT name, type FROM pragma_table_info($1)",
            Engine::Postgres => {
                "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1"
            }
        };
        let rows: Vec<(String, String)> =
            sqlx::query_as(sql).bind(table).fetch_all(&self.pool).await.map_err(|e| self.err(e))?;
        let mut columns = rows
            .into_iter()
            .map(|(name, ty)| match Kind::of(&ty) {
                Some(kind) => Ok((name, kind)),
                None => {
                    Err(self.invalid(format!("`store copy` does not know the type `{ty}` of {table}.{name}")))
                }
            })
            .collect::<Result<Columns>>()?;
        if columns.is_empty() {
            return Err(self.invalid(format!("the schema has no table `{table}`")));
        }
        columns.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(columns)
    }

    /// Every row of every table, typed and sorted by key: what [`Store::copy_to`] moves, and what
    /// must compare equal between a database and its copy.
    pub async fn dump(&self) -> Result<Dump> {
        let mut out = Dump::new();
        for (table, keys) in TABLES {
            let columns = self.columns(table).await?;
            let rows = sqlx::query(&select_sql(table, &columns))
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.err(e))?;
            let mut cells = rows
                .iter()
                .map(|row| columns.iter().enumerate().map(|(i, (_, kind))| cell(row, i, *kind)).collect())
                .collect::<std::result::Result<Vec<Vec<Cell>>, _>>()
                .map_err(|e| self.err(e))?;
            let order = key_order(&columns, keys);
            cells.sort_by(|a, b| {
                order
                    .iter()
                    .map(|&i| compare_cells(&a[i], &b[i]))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            out.insert(
                *table,
                TableDump { columns: columns.into_iter().map(|(name, _)| name).collect(), rows: cells },
            );
        }
        Ok(out)
    }

    /// Copies every row of this database into `target`, in one transaction there. The target must
    /// hold no experiment yet (a fresh database, or one just migrated): merging two histories could
    /// silently keep one side's version of a run. Both must have the same columns (both are
    /// migrated by the same binary when opened). Returns the rows copied per table.
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
        for (table, _) in TABLES {
            let columns = target.columns(table).await?;
            let TableDump { columns: names, rows } = &dump[table];
            if columns.iter().map(|(n, _)| n).ne(names.iter()) {
                return Err(target.invalid(format!(
                    "{table} has columns {names:?} in {} but {:?} here: open both with the same \
                     pixelcnn version so that both are migrated alike",
                    self.db,
                    columns.iter().map(|(n, _)| n).collect::<Vec<_>>()
                )));
            }
            let sql = insert_sql(table, &columns);
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

    async fn store_in(dir: &tempfile::TempDir, name: &str) -> Store {
        Store::open(&crate::url_from_path(&dir.path().join(name))).await.unwrap()
    }

    /// The table list above is the migrated schema's, and every column has a type copy knows.
    #[tokio::test]
    async fn every_table_is_listed_and_every_column_type_is_known() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(&dir, "s.db").await;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' \
             AND name NOT LIKE 'sqlite%'",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        let mut listed: Vec<&str> = TABLES.iter().map(|(t, _)| *t).collect();
        let mut found: Vec<&str> = tables.iter().map(String::as_str).collect();
        listed.sort_unstable();
        found.sort_unstable();
        assert_eq!(listed, found);
        for (table, keys) in TABLES {
            let columns = store.columns(table).await.unwrap();
            assert!(keys.iter().all(|k| columns.iter().any(|(n, _)| n == k)), "{table}'s keys are columns");
        }
    }

    /// A column a later migration adds (a new metric) is copied with no edit to this file.
    #[tokio::test]
    async fn a_column_added_by_a_migration_is_copied() {
        let dir = tempfile::tempdir().unwrap();
        let (source, target) = (store_in(&dir, "a.db").await, store_in(&dir, "b.db").await);
        for store in [&source, &target] {
            sqlx::query("ALTER TABLE experiments ADD COLUMN gradient_norm DOUBLE PRECISION")
                .execute(&store.pool)
                .await
                .unwrap();
        }
        let id = source.record_experiment("e", "").await.unwrap();
        sqlx::query("UPDATE experiments SET gradient_norm = 0.5 WHERE id = $1")
            .bind(&id)
            .execute(&source.pool)
            .await
            .unwrap();
        source.copy_to(&target).await.unwrap();
        let copied: Option<f64> = sqlx::query_scalar("SELECT gradient_norm FROM experiments WHERE id = $1")
            .bind(&id)
            .fetch_one(&target.pool)
            .await
            .unwrap();
        assert_eq!(copied, Some(0.5));
        assert_eq!(source.dump().await.unwrap(), target.dump().await.unwrap());
    }

    /// A target whose schema lacks a column of the source is refused before anything is written.
    #[tokio::test]
    async fn a_target_missing_a_column_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (source, target) = (store_in(&dir, "a.db").await, store_in(&dir, "b.db").await);
        sqlx::query("ALTER TABLE experiments ADD COLUMN gradient_norm DOUBLE PRECISION")
            .execute(&source.pool)
            .await
            .unwrap();
        source.record_experiment("e", "").await.unwrap();
        let error = source.copy_to(&target).await.unwrap_err().to_string();
        assert!(error.contains("gradient_norm"), "{error}");
        let rows: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM experiments").fetch_one(&target.pool).await.unwrap();
        assert_eq!(rows, 0);
    }
}
