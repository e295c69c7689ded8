//! Everything PostgreSQL-specific, beside `sqlite.rs`: the connection settings, how SQLSTATE codes
//! map to [`StoreError`], the URL without its password for messages, and the checks `doctor` runs.
//! Migrations are the same files as for SQLite; sqlx's PostgreSQL migrator serialises concurrent
//! openers with an advisory lock of its own, so no transaction is wrapped around it here.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection, Executor};

use crate::StoreOptions;
use crate::error::{Result, StoreError};

/// SQLSTATE codes the store explains to users.
const LOCK_NOT_AVAILABLE: &str = "55P03";
const DEADLOCK_DETECTED: &str = "40P01";
const SERIALIZATION_FAILURE: &str = "40001";
const INVALID_PASSWORD: &str = "28P01";
const INVALID_AUTHORIZATION: &str = "28000";
const UNKNOWN_DATABASE: &str = "3D000";

/// The URL with its password replaced by `***`, for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Opens a pool on the database at `url` and applies the migrations.
///
/// Every connection waits at most the busy timeout for a row lock (`lock_timeout`) and reports
/// time in UTC, like SQLite's store; a lock held longer means a hung worker, reported as
/// [`StoreError::Locked`] instead of waiting forever. Transactions are READ COMMITTED whatever
/// the server's default: claims and rung decisions lock a row and then read what the transactions
/// they waited for committed, which a REPEATABLE READ snapshot would refuse with a serialization
/// error.
pub(crate) async fn open_pool(db: &str, url: &str, options: &StoreOptions) -> Result<AnyPool> {
    let connect = AnyConnectOptions::from_str(url)
        .map_err(|e| StoreError::Connect { db: db.to_owned(), message: e.to_string() })?;
    let setup = format!(
        "SET lock_timeout = {}; SET TIME ZONE 'UTC'; SET default_transaction_isolation = 'read committed';",
        options.busy_timeout.as_millis()
    );
    let map = |e| match classify(db, options.busy_timeout, e) {
        StoreError::Query { db, source } => StoreError::Connect { db, message: source.to_string() },
        other => other,
    };
    // One connection first, on its own: a refused login fails here with the server's words (a
    // failing pool connection would only show as a pool timeout), and the migrations run on it.
    let mut first = AnyConnection::connect_with(&connect).await.map_err(map)?;
    first.execute(setup.as_str()).await.map_err(map)?;
    let migrated = crate::MIGRATOR.run_direct(&mut first).await;
    let _ = first.close().await;
    migrated.map_err(|e| StoreError::from_migrate(db, e, |e| classify(db, options.busy_timeout, e)))?;
    AnyPoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .acquire_timeout(options.busy_timeout + Duration::from_secs(5))
        .after_connect(move |conn, _| {
            let setup = setup.clone();
            Box::pin(async move { conn.execute(setup.as_str()).await.map(|_| ()) })
        })
        .connect_with(connect)
        .await
        .map_err(map)
}

/// Maps PostgreSQL's SQLSTATE codes to the variants users can act on: a lock waited on for too
/// long, a refused login, a missing database. Constraint violations are left to the callers.
pub(crate) fn classify(db: &str, lock_timeout: Duration, e: sqlx::Error) -> StoreError {
    let code = match &e {
        sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
        _ => None,
    };
    match code.as_deref() {
        Some(LOCK_NOT_AVAILABLE | DEADLOCK_DETECTED | SERIALIZATION_FAILURE) => {
            StoreError::Locked { db: db.to_owned(), waited: lock_timeout }
        }
        Some(INVALID_PASSWORD | INVALID_AUTHORIZATION | UNKNOWN_DATABASE) => {
            StoreError::Connect { db: db.to_owned(), message: database_message(&e) }
        }
        _ if matches!(e, sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut) => {
            StoreError::Connect { db: db.to_owned(), message: e.to_string() }
        }
        _ => StoreError::Query { db: db.to_owned(), source: e },
    }
}

/// The server's own words for a database error.
fn database_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_owned(),
        other => other.to_string(),
    }
}

/// Checks that the server answers (PostgreSQL checks its pages itself).
pub(crate) async fn ping(db: &str, pool: &AnyPool) -> Result<()> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ()).map_err(|e| classify(db, Duration::ZERO, e))
}

/// The settings a connection of the pool runs with, for `doctor`.
pub(crate) async fn settings(db: &str, pool: &AnyPool) -> Result<BTreeMap<String, String>> {
    let map = |e: sqlx::Error| classify(db, Duration::ZERO, e);
    let mut conn = pool.acquire().await.map_err(map)?;
    let mut out = BTreeMap::new();
    out.insert("engine".to_owned(), "postgres".to_owned());
    for setting in ["server_version", "lock_timeout", "TimeZone", "default_transaction_isolation"] {
        let value: String =
            sqlx::query_scalar(&format!("SHOW {setting}")).fetch_one(&mut *conn).await.map_err(map)?;
        out.insert(setting.to_ascii_lowercase(), value);
    }
    let collation: String =
        sqlx::query_scalar("SELECT datcollate::text FROM pg_database WHERE datname = current_database()")
            .fetch_one(&mut *conn)
            .await
            .map_err(map)?;
    out.insert("collation".to_owned(), collation);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }
}
