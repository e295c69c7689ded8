//! Choosing and opening the database: the URL rule (`--db` > `PIXELCNN_DB` > `runs/pixelcnn.db`),
//! URL parsing and [`Store::open`]. The engine is chosen by the URL's scheme (`sqlite://PATH` or
//! `postgres://...`), so callers never name it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::error::{Result, StoreError};
use crate::{Engine, Store};

/// Environment variable naming the database (a URL or a plain path), below `--db`.
pub const DB_ENV: &str = "PIXELCNN_DB";

/// The database used when neither `--db` nor `PIXELCNN_DB` says otherwise.
pub const DEFAULT_DB_PATH: &str = "runs/pixelcnn.db";

/// How a [`Store`] connects. The defaults suit several worker processes writing one SQLite file.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// How long a writer waits for another process's write lock before giving up with
    /// [`StoreError::Locked`]. Epoch transactions take milliseconds, so 30 s means something is
    /// wrong (a hung process, or a network file system).
    pub busy_timeout: Duration,
    /// Connections in the pool. SQLite serialises writers anyway; a few let readers overlap.
    pub max_connections: u32,
    /// Whether a missing SQLite file (and its folders) is created. Commands that only read
    /// results turn it off, so that a mistyped `--db` is an error instead of a new empty
    /// database. (A PostgreSQL database is never created: a missing one fails to connect.)
    pub create: bool,
    /// Where timestamps and staleness come from: the system clock, or a test's.
    pub clock: Clock,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(30),
            max_connections: 4,
            create: true,
            clock: Clock::default(),
        }
    }
}

/// The database URL for a file path: `sqlite://` followed by the path (relative paths stay
/// relative to the working directory, absolute ones give `sqlite:///...`). Non-UTF-8 path bytes
/// are replaced, so keep database paths UTF-8.
pub fn url_from_path(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Turns a `--db` or `PIXELCNN_DB` value into a URL: values with a scheme (`sqlite://`,
/// `postgres://`) are URLs, anything else is a file path.
pub fn to_url(value: &str) -> String {
    if value.contains("://") || value.starts_with("sqlite:") {
        value.to_owned()
    } else {
        url_from_path(Path::new(value))
    }
}

/// The database URL by the documented rule: the `--db` flag if given, else `PIXELCNN_DB` if set
/// and not empty, else `runs/pixelcnn.db`. Each may be a URL or a path.
pub fn resolve_url(db_flag: Option<&str>) -> String {
    if let Some(flag) = db_flag.filter(|v| !v.is_empty()) {
        return to_url(flag);
    }
    match std::env::var(DB_ENV) {
        Ok(value) if !value.is_empty() => to_url(&value),
        _ => url_from_path(Path::new(DEFAULT_DB_PATH)),
    }
}

/// The database URL when no `--db` flag was given: `PIXELCNN_DB`, else `runs/pixelcnn.db`.
pub fn default_url() -> String {
    resolve_url(None)
}

/// A database URL as it may be shown to people: a PostgreSQL password replaced by `***`.
pub fn display_url(url: &str) -> String {
    crate::postgres::redact(url)
}

/// The engine and location a URL names.
enum Target {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database: the URL as given.
    Postgres(String),
}

/// The engine a URL names, without opening anything: [`Engine::Postgres`] for `postgres://` and
/// `postgresql://`, [`Engine::Sqlite`] for anything else the store accepts (file paths included).
pub fn engine_of(url: &str) -> Result<Engine> {
    Ok(match parse_url(&to_url(url))? {
        Target::Sqlite(_) => Engine::Sqlite,
        Target::Postgres(_) => Engine::Postgres,
    })
}

/// Parses `sqlite://PATH` (also `sqlite:PATH`) and `postgres://` (also `postgresql://`) URLs.
/// In-memory SQLite databases are refused: the store exists to share results between processes.
fn parse_url(url: &str) -> Result<Target> {
    let unsupported = || StoreError::UnsupportedUrl { url: crate::postgres::redact(url) };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres(url.to_owned()));
    }
    let rest =
        url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).ok_or_else(unsupported)?;
    if rest.is_empty() || rest.starts_with(":memory:") || rest.contains('?') {
        return Err(unsupported());
    }
    Ok(Target::Sqlite(PathBuf::from(rest)))
}

impl Store {
    /// Opens (creating when missing, with its parent folders) the database at `url` with the
    /// default [`StoreOptions`], and applies the migrations; applying them again is a no-op.
    pub async fn open(url: &str) -> Result<Store> {
        Self::open_with(url, StoreOptions::default()).await
    }

    /// Opens the database at `url` only when it exists: [`StoreError::NotFound`] for a missing
    /// SQLite file, which is left uncreated. For commands that read what sweeps recorded.
    pub async fn open_existing(url: &str) -> Result<Store> {
        Self::open_with(url, StoreOptions { create: false, ..StoreOptions::default() }).await
    }

    /// Like [`Store::open`], with explicit options (a short busy timeout in tests, say).
    pub async fn open_with(url: &str, options: StoreOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        match parse_url(url)? {
            Target::Sqlite(file) => {
                let db = file.display().to_string();
                if !options.create && !file.is_file() {
                    return Err(StoreError::NotFound { db });
                }
                if let Some(dir) = file.parent().filter(|d| options.create && !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                        db: db.clone(),
                        dir: dir.to_path_buf(),
                        source,
                    })?;
                }
                let pool = crate::sqlite::open_pool(&db, &file, &options).await?;
                Ok(Store {
                    pool,
                    engine: Engine::Sqlite,
                    db: Arc::from(db),
                    busy_timeout: options.busy_timeout,
                    clock: options.clock,
                })
            }
            Target::Postgres(url) => {
                let db = crate::postgres::redact(&url);
                let pool = crate::postgres::open_pool(&db, &url, &options).await?;
                Ok(Store {
                    pool,
                    engine: Engine::Postgres,
                    db: Arc::from(db),
                    busy_timeout: options.busy_timeout,
                    clock: options.clock,
                })
            }
        }
    }

    /// The engine this store runs on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The database URL for a file path; the same as the free function [`url_from_path`].
    pub fn url_from_path(path: &Path) -> String {
        url_from_path(path)
    }

    /// The database this store writes to: the file for SQLite, the URL without its password for
    /// PostgreSQL. Used in messages.
    pub fn location(&self) -> &str {
        &self.db
    }

    /// Checks the database's integrity (`PRAGMA integrity_check` on SQLite; PostgreSQL checks its
    /// pages itself, so there only the connection is checked); an error lists every problem found.
    pub async fn integrity_check(&self) -> Result<()> {
        match self.engine {
            Engine::Sqlite => crate::sqlite::integrity_check(&self.db, self.busy_timeout, &self.pool).await,
            Engine::Postgres => crate::postgres::ping(&self.db, &self.pool).await,
        }
    }

    /// The settings the connections run with (engine, version, journal mode, busy timeout, ...),
    /// for `doctor` and to check that the engine's settings took effect.
    pub async fn settings(&self) -> Result<std::collections::BTreeMap<String, String>> {
        match self.engine {
            Engine::Sqlite => crate::sqlite::settings(&self.db, self.busy_timeout, &self.pool).await,
            Engine::Postgres => crate::postgres::settings(&self.db, &self.pool).await,
        }
    }

    /// Closes the pool, waiting for connections to return; later calls fail. Dropping the store
    /// also closes it, but without waiting.
    ///
    /// sqlx returns a used connection to the pool in a spawned task, and one that arrives while
    /// `close` is already waiting stays open until the pool is dropped, closing later on its own
    /// thread. SQLite removes its `-wal`/`-shm` files only when the last connection closes, so such
    /// a straggler could leave them behind after a command that only read or was refused. Waiting
    /// for the connections in flight first (at most a second, should a caller still hold one)
    /// makes the close complete.
    pub async fn close(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        while self.pool.num_idle() < self.pool.size() as usize && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls() {
        assert_eq!(url_from_path(Path::new("runs/pixelcnn.db")), "sqlite://runs/pixelcnn.db");
        assert_eq!(url_from_path(Path::new("/tmp/x.db")), "sqlite:///tmp/x.db");
        assert_eq!(to_url("a/b.db"), "sqlite://a/b.db");
        assert_eq!(to_url("sqlite://a/b.db"), "sqlite://a/b.db");
        assert_eq!(to_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(resolve_url(Some("x.db")), "sqlite://x.db");
        assert!(matches!(parse_url("sqlite://a.db"), Ok(Target::Sqlite(p)) if p == Path::new("a.db")));
        assert!(
            matches!(parse_url("sqlite:///abs/a.db"), Ok(Target::Sqlite(p)) if p == Path::new("/abs/a.db"))
        );
        assert!(matches!(parse_url("postgres://h/db"), Ok(Target::Postgres(_))));
        assert!(matches!(engine_of("postgresql://u:p@h/db"), Ok(Engine::Postgres)));
        assert!(matches!(engine_of("runs/x.db"), Ok(Engine::Sqlite)));
        assert!(parse_url("mysql://h/db").is_err());
        assert!(parse_url("sqlite::memory:").is_err());
    }
}
