//! Everything SQLite-specific, in one place: connection settings, the migration lock, how SQLite's
//! result codes map to [`StoreError`] and the integrity check. The rest of the crate speaks
//! portable SQL; `postgres.rs` is this module's sibling for the server engine.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Row};

use crate::StoreOptions;
use crate::error::{Result, StoreError};

/// SQLite's primary result codes that the store explains to users.
const SQLITE_CORRUPT: i64 = 11;
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_NOTADB: i64 = 26;

/// Characters of a file path kept as they are in its URL; everything else is percent-encoded, so
/// that spaces, `?` or `#` in a path survive the URL the `Any` driver connects with.
const PATH_CHARS: &AsciiSet = &NON_ALPHANUMERIC.remove(b'/').remove(b'-').remove(b'_').remove(b'.');

/// The URL the `Any` driver opens `file` with, creating it when missing (`mode=rwc`).
fn connect_url(file: &Path, create: bool) -> String {
    let path = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    // `rw` fails on a missing file instead of creating it (also if it vanished since it was looked for).
    let mode = if create { "rwc" } else { "rw" };
    format!("sqlite://{}?mode={mode}", utf8_percent_encode(&path.to_string_lossy(), PATH_CHARS))
}

/// Connection settings every connection runs first, chosen for many processes writing one file:
/// - busy timeout: a writer waits for the lock instead of failing with "database is locked";
/// - WAL: readers never block the writer and the writer never blocks readers;
/// - foreign keys on: SQLite leaves them off by default;
/// - synchronous NORMAL: safe with WAL (a power cut may lose the last commits, never corrupts),
///   and much faster than FULL for one small transaction per epoch.
fn pragmas(busy_timeout: Duration) -> String {
    format!(
        "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
         PRAGMA synchronous = NORMAL;",
        busy_timeout.as_millis()
    )
}

/// Opens a pool on `file`, creating the file when missing, and applies the migrations.
///
/// Some of SQLite's lock conflicts while a new file is being set up (switching it to WAL, or a
/// migration transaction meeting another process's) are reported at once instead of going through
/// the busy handler; they are retried here until the busy timeout has passed, like any other wait.
pub(crate) async fn open_pool(db: &str, file: &Path, options: &StoreOptions) -> Result<AnyPool> {
    let busy_timeout = options.busy_timeout;
    let start = std::time::Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        match try_open_pool(db, file, options).await {
            Err(StoreError::Locked { .. }) if start.elapsed() < busy_timeout => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(250));
            }
            other => return other,
        }
    }
}

async fn try_open_pool(db: &str, file: &Path, store_options: &StoreOptions) -> Result<AnyPool> {
    let (busy_timeout, max_connections) = (store_options.busy_timeout, store_options.max_connections);
    let options = AnyConnectOptions::from_str(&connect_url(file, store_options.create))
        .map_err(|source| StoreError::Open { db: db.to_owned(), source })?;
    let map = |e: sqlx::Error| match classify(db, busy_timeout, e) {
        StoreError::Query { db, source } => StoreError::Open { db, source },
        other => other,
    };
    let setup = pragmas(busy_timeout);
    // One connection first, on its own: a corrupt file or a lock fails here with its own error
    // (a failing pool connection would only show as a pool timeout), and the migrations run on it.
    let mut first = AnyConnection::connect_with(&options).await.map_err(map)?;
    first.execute(setup.as_str()).await.map_err(map)?;
    let migrated = migrate(db, busy_timeout, &mut first).await;
    let _ = first.close().await;
    migrated?;
    AnyPoolOptions::new()
        .max_connections(max_connections.max(1))
        // Waiting for a connection includes waiting for a lock during connection setup.
        .acquire_timeout(busy_timeout + Duration::from_secs(5))
        .after_connect(move |conn, _| {
            let setup = setup.clone();
            Box::pin(async move { conn.execute(setup.as_str()).await.map(|_| ()) })
        })
        .connect_with(options)
        .await
        .map_err(map)
}

/// Applies the embedded migrations while holding SQLite's write lock (`BEGIN IMMEDIATE`), so that
/// two processes opening a new database at once do not both try to create the tables: the second
/// waits, then finds everything applied. sqlx nests each migration in a savepoint of this
/// transaction. (sqlx's PostgreSQL migrator takes an advisory lock itself.)
async fn migrate(db: &str, busy_timeout: Duration, conn: &mut AnyConnection) -> Result<()> {
    let map = |e: sqlx::Error| classify(db, busy_timeout, e);
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(map)?;
    // `run_direct` rather than `run`: sqlx's own workaround for `run`'s `Acquire` bound, whose
    // future is not `Send` for a borrowed connection (callers open stores inside spawned tasks).
    crate::MIGRATOR.run_direct(&mut *tx).await.map_err(|e| StoreError::from_migrate(db, e, map))?;
    tx.commit().await.map_err(map)
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
pub(crate) async fn integrity_check(db: &str, busy_timeout: Duration, pool: &AnyPool) -> Result<()> {
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
    pool: &AnyPool,
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
