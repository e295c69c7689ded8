//! Everything SQLite-specific, in one place: connection settings, the migration lock, how SQLite's
//! result codes map to [`StoreError`] and the integrity check. The rest of the crate speaks
//! portable SQL, so a PostgreSQL backend later only needs a sibling of this module.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Row, SqlitePool};

use crate::error::{Result, StoreError};

/// SQLite's primary result codes that the store explains to users.
const SQLITE_CORRUPT: i64 = 11;
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_NOTADB: i64 = 26;

/// Connection settings every pool uses, chosen for many processes writing one file:
/// - WAL: readers never block the writer and the writer never blocks readers;
/// - busy timeout: a writer waits for the lock instead of failing with "database is locked";
/// - foreign keys on: SQLite leaves them off by default;
/// - synchronous NORMAL: safe with WAL (a power cut may lose the last commits, never corrupts),
///   and much faster than FULL for one small transaction per epoch.
fn connect_options(file: &Path, busy_timeout: Duration) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(busy_timeout)
        .foreign_keys(true)
        .synchronous(SqliteSynchronous::Normal)
}

/// Opens a pool on `file`, creating the file when missing, and applies the migrations.
///
/// Some of SQLite's lock conflicts while a new file is being set up (switching it to WAL, or a
/// migration transaction meeting another process's) are reported at once instead of going through
/// the busy handler; they are retried here until the busy timeout has passed, like any other wait.
pub(crate) async fn open_pool(
    db: &str,
    file: &Path,
    busy_timeout: Duration,
    max_connections: u32,
) -> Result<SqlitePool> {
    let start = std::time::Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        match try_open_pool(db, file, busy_timeout, max_connections).await {
            Err(StoreError::Locked { .. }) if start.elapsed() < busy_timeout => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(250));
            }
            other => return other,
        }
    }
}

async fn try_open_pool(
    db: &str,
    file: &Path,
    busy_timeout: Duration,
    max_connections: u32,
) -> Result<SqlitePool> {
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections.max(1))
        // Waiting for a connection includes waiting for a lock during connection setup.
        .acquire_timeout(busy_timeout + Duration::from_secs(5))
        .connect_with(connect_options(file, busy_timeout))
        .await
        .map_err(|e| match classify(db, busy_timeout, e) {
            StoreError::Query { db, source } => StoreError::Open { db, source },
            other => other,
        })?;
    if let Err(e) = migrate(db, busy_timeout, &pool).await {
        pool.close().await;
        return Err(e);
    }
    Ok(pool)
}

/// Applies the embedded migrations while holding SQLite's write lock (`BEGIN IMMEDIATE`), so that
/// two processes opening a new database at once do not both try to create the tables: the second
/// waits, then finds everything applied. sqlx nests each migration in a savepoint of this
/// transaction. (sqlx's PostgreSQL migrator takes an advisory lock itself.)
async fn migrate(db: &str, busy_timeout: Duration, pool: &SqlitePool) -> Result<()> {
    let map = |e: sqlx::Error| classify(db, busy_timeout, e);
    let mut conn = pool.acquire().await.map_err(map)?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(map)?;
    // `run_direct` rather than `run`: sqlx's own workaround for `run`'s `Acquire` bound, whose
    // future is not `Send` for a borrowed connection (callers open stores inside spawned tasks).
    crate::MIGRATOR.run_direct(&mut *tx).await.map_err(|e| migrate_error(db, busy_timeout, e))?;
    tx.commit().await.map_err(map)
}

/// Turns a migrator error into the clearest [`StoreError`].
fn migrate_error(db: &str, busy_timeout: Duration, e: sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError;
    match e {
        MigrateError::Execute(source) | MigrateError::ExecuteMigration(source, _) => {
            match classify(db, busy_timeout, source) {
                StoreError::Query { db, source } => {
                    StoreError::Migrate { db, source: MigrateError::Execute(source) }
                }
                other => other,
            }
        }
        MigrateError::VersionMissing(version) => StoreError::NewerSchema { db: db.to_owned(), version },
        other => StoreError::Migrate { db: db.to_owned(), source: other },
    }
}

/// Maps SQLite's result codes to the variants users can act on: locked, corrupt, or a plain query
/// error. Constraint violations are left to the callers, which know what was being written.
pub(crate) fn classify(db: &str, busy_timeout: Duration, e: sqlx::Error) -> StoreError {
    let code = match &e {
        sqlx::Error::Database(d) => d.code().and_then(|c| i64::from_str(&c).ok()),
        _ => None,
    };
    // Extended result codes carry the primary code in their low byte.
    match code.map(|c| c & 0xff) {
        Some(SQLITE_BUSY | SQLITE_LOCKED) => StoreError::Locked { db: db.to_owned(), waited: busy_timeout },
        Some(SQLITE_CORRUPT | SQLITE_NOTADB) => {
            let message = match &e {
                sqlx::Error::Database(d) => d.message().to_owned(),
                other => other.to_string(),
            };
            StoreError::Corrupt { db: db.to_owned(), message }
        }
        _ => StoreError::Query { db: db.to_owned(), source: e },
    }
}

/// Runs `PRAGMA integrity_check` and reports every problem it lists.
pub(crate) async fn integrity_check(db: &str, busy_timeout: Duration, pool: &SqlitePool) -> Result<()> {
    let rows = sqlx::query("PRAGMA integrity_check")
        .fetch_all(pool)
        .await
        .map_err(|e| classify(db, busy_timeout, e))?;
    let problems: Vec<String> =
        rows.iter().filter_map(|r| r.try_get::<String, _>(0).ok()).filter(|line| line != "ok").collect();
    if problems.is_empty() { Ok(()) } else { Err(StoreError::Integrity { db: db.to_owned(), problems }) }
}

/// The settings a connection of the pool actually runs with, for `doctor` and the tests.
pub(crate) async fn settings(
    db: &str,
    busy_timeout: Duration,
    pool: &SqlitePool,
) -> Result<BTreeMap<String, String>> {
    let map = |e: sqlx::Error| classify(db, busy_timeout, e);
    let mut conn = pool.acquire().await.map_err(map)?;
    let mut out = BTreeMap::new();
    out.insert("engine".to_owned(), "sqlite".to_owned());
    let version: String =
        sqlx::query_scalar("SELECT sqlite_version()").fetch_one(&mut *conn).await.map_err(map)?;
    out.insert("sqlite_version".to_owned(), version);
    for pragma in ["journal_mode", "busy_timeout", "foreign_keys", "synchronous"] {
        let row = sqlx::query(&format!("PRAGMA {pragma}")).fetch_one(&mut *conn).await.map_err(map)?;
        let value = row
            .try_get::<String, _>(0)
            .or_else(|_| row.try_get::<i64, _>(0).map(|v| v.to_string()))
            .map_err(map)?;
        out.insert(pragma.to_owned(), value);
    }
    Ok(out)
}
