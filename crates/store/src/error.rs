//! Errors of the results store. Every variant names the database (its file for SQLite), because a
//! user who runs several sweeps against several databases must see which one is at fault.

use std::path::PathBuf;
use std::time::Duration;

/// Result of every store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What can go wrong in the store. `db` is the database file (SQLite) or the URL without
/// credentials (server databases).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no engine the store speaks.
    #[error(
        "unsupported database URL `{url}`: expected sqlite://PATH, a file path, or \
         postgres://USER:PASSWORD@HOST:PORT/DATABASE"
    )]
    UnsupportedUrl {
        /// The URL as given, without its password.
        url: String,
    },
    /// A command that only reads results was pointed at a database file that does not exist
    /// (a mistyped `--db` or `PIXELCNN_DB`, say); nothing was created.
    #[error(
        "database {db} does not exist; nothing was created (check --db and PIXELCNN_DB; a sweep or \
         `pixelcnn store copy` creates one)"
    )]
    NotFound {
        /// The database file asked for.
        db: String,
    },
    /// The folder that should hold a new database file cannot be created.
    #[error("cannot create the folder {} of database {db}: {source}", dir.display())]
    CreateDir {
        /// The database.
        db: String,
        /// The folder that could not be created.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another process held the write lock for longer than the busy timeout.
    #[error(
        "database {db} is locked: another process kept it busy for more than {waited:?} \
         (a hung tool holding it; for SQLite also a file on a network file system, where its locking does not work)"
    )]
    Locked {
        /// The database.
        db: String,
        /// The busy timeout that ran out.
        waited: Duration,
    },
    /// The PostgreSQL server cannot be reached or refuses the login.
    #[error("cannot connect to database {db}: {message}")]
    Connect {
        /// The database.
        db: String,
        /// What the driver or the server said.
        message: String,
    },
    /// The file exists but is not a (healthy) SQLite database.
    #[error(
        "database {db} is corrupt or not an SQLite database ({message}); move it away to start a new one"
    )]
    Corrupt {
        /// The database.
        db: String,
        /// SQLite's words.
        message: String,
    },
    /// The database cannot be opened (permissions, a folder in the way, ...).
    #[error("cannot open database {db}: {source}")]
    Open {
        /// The database.
        db: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// The database holds a schema version this build does not know: a newer pixelcnn wrote it.
    #[error(
        "database {db} was migrated by a newer pixelcnn (schema version {version} is unknown to this build)"
    )]
    NewerSchema {
        /// The database.
        db: String,
        /// The unknown migration version.
        version: i64,
    },
    /// Applying the embedded migrations failed.
    #[error("cannot migrate database {db}: {source}")]
    Migrate {
        /// The database.
        db: String,
        /// The migrator's error.
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed for another reason.
    #[error("database {db}: {source}")]
    Query {
        /// The database.
        db: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// No run id starts with the given prefix (or the id is unknown).
    #[error("database {db}: no run id starts with `{prefix}`")]
    RunNotFound {
        /// The database.
        db: String,
        /// The id or prefix looked up.
        prefix: String,
    },
    /// Several run ids start with the given prefix.
    #[error("database {db}: run id prefix `{prefix}` is ambiguous, it matches {}", candidates.join(", "))]
    AmbiguousPrefix {
        /// The database.
        db: String,
        /// The prefix looked up.
        prefix: String,
        /// Every matching id.
        candidates: Vec<String>,
    },
    /// A row refers to an experiment, sweep or run that does not exist.
    #[error("database {db}: {what} refers to a missing experiment, sweep or run")]
    MissingReference {
        /// The database.
        db: String,
        /// What was being written.
        what: String,
    },
    /// The configuration already has a queued or running attempt.
    #[error("database {db}: configuration {config_hash} already has a queued or running attempt")]
    ActiveAttemptExists {
        /// The database.
        db: String,
        /// The configuration.
        config_hash: String,
    },
    /// A worker wrote with a lease that is no longer current: its run ended, or was declared
    /// interrupted and possibly taken over by another worker after its heartbeat went stale.
    #[error(
        "database {db}: run {run_id} is no longer held by this worker (it ended, or its heartbeat went stale \
         and another worker took it over); this worker stops and writes nothing more to it"
    )]
    LeaseLost {
        /// The database.
        db: String,
        /// The run.
        run_id: String,
    },
    /// An argument the store cannot accept (a status that is not terminal, a bad filter, ...).
    #[error("database {db}: {message}")]
    Invalid {
        /// The database.
        db: String,
        /// What is wrong.
        message: String,
    },
    /// A stored value does not parse (hand-edited database, or a bug).
    #[error("database {db}: stored value {column} of {id} is invalid: {message}")]
    BadValue {
        /// The database.
        db: String,
        /// The table.column.
        column: String,
        /// The row.
        id: String,
        /// What is wrong.
        message: String,
    },
    /// `PRAGMA integrity_check` (or the engine's equivalent) found problems.
    #[error("database {db} failed its integrity check: {}", problems.join("; "))]
    Integrity {
        /// The database.
        db: String,
        /// The problems reported.
        problems: Vec<String>,
    },
}

impl StoreError {
    /// Turns a migrator error into the clearest [`StoreError`]: driver errors go through the
    /// engine's `classify` (a locked database stays [`StoreError::Locked`]), an unknown applied
    /// version means a newer build wrote the database.
    pub(crate) fn from_migrate(
        db: &str,
        e: sqlx::migrate::MigrateError,
        classify: impl Fn(sqlx::Error) -> StoreError,
    ) -> StoreError {
        use sqlx::migrate::MigrateError;
        match e {
            MigrateError::Execute(source) | MigrateError::ExecuteMigration(source, _) => {
                match classify(source) {
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
}
