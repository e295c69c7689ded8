//! Results store of pixelcnn-lab: experiments, sweeps, execution attempts ("runs"), per-epoch
//! metrics and artefacts, and the rung decisions of adaptive searches, in a database chosen by
//! URL.
//!
//! Two engines, chosen by URL: SQLite (`sqlite://PATH`, one machine) and PostgreSQL
//! (`postgres://...`, shared by the tasks of a cluster job array, where SQLite over a network file
//! system would corrupt). Every query is portable SQL (`$1` placeholders, `ON CONFLICT`,
//! `RETURNING`, no engine functions) run through sqlx's `Any` driver; what differs (connection
//! settings, error codes, the migration lock) lives in `sqlite.rs` and `postgres.rs`; claims are
//! serialised the same way on both, by a lock row per configuration written first in each claim's
//! transaction (`claim.rs`). The schema comes only from the embedded migrations in `migrations/`, the same
//! files for both engines, applied at every open.
//!
//! The store takes plain data (JSON values, strings, and `pixelcnn_record`'s epoch metrics and
//! artefact kinds) and knows nothing about burn or the training code, so that it compiles fast and
//! tools that only read results stay light.

mod artefacts;
mod claim;
mod clock;
mod copy;
mod epochs;
mod error;
mod experiments;
mod halving;
mod labels;
mod lease;
mod model;
mod open;
mod postgres;
mod query;
mod queue;
mod rows;
mod rungs;
mod runs;
pub mod scratch;
mod searches;
mod select;
mod sqlite;
mod verdicts;

use std::sync::Arc;
use std::time::Duration;

pub use claim::{ClaimKind, Decision, SkipReason, decide};
pub use clock::Clock;
pub use copy::{Cell, CopyCounts, Dump, TableDump};
pub use error::{Result, StoreError};
pub use halving::Arrival;
pub use labels::{MAX_TAG_CHARS, check_tag};
pub use lease::Lease;
pub use model::{
    Artefact, ArtefactContent, Attempt, Experiment, MetricRow, NewArtefact, NewRun, NewSweep, RunDetail,
    RunFilter, RunSummary, SlurmTask, Sweep, Worker,
};
pub use open::{
    DB_ENV, DEFAULT_DB_PATH, StoreOptions, default_url, display_url, engine_of, resolve_url, to_url,
    url_from_path,
};
pub use queue::{Enqueued, Taken};
pub use rungs::RungRecord;
pub use searches::Search;
pub use select::{Op, Predicate, sort_by_key};
pub use verdicts::{Difference, RerunVerdict, Verdict};

/// The schema, embedded at compile time so that the binary carries it.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// The database engine behind a [`Store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// A file on this machine (`sqlite://PATH`).
    Sqlite,
    /// A server (`postgres://USER:PASSWORD@HOST:PORT/DATABASE`).
    Postgres,
}

impl Engine {
    /// The engine's name as users write it in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// A handle on the results database. Cheap to clone (a shared connection pool); each process,
/// or each task that wants its own connections, opens its own.
#[derive(Clone, Debug)]
pub struct Store {
    /// The connection pool, on either engine.
    pub(crate) pool: sqlx::AnyPool,
    /// The engine behind the pool, for the few statements that differ.
    pub(crate) engine: Engine,
    /// The database for messages: the file for SQLite, the URL without its password for
    /// PostgreSQL.
    pub(crate) db: Arc<str>,
    /// The busy timeout in force, reported by [`StoreError::Locked`].
    pub(crate) busy_timeout: Duration,
    /// Where timestamps come from.
    pub(crate) clock: Clock,
}

impl Store {
    /// Maps a driver error to the clearest [`StoreError`], naming the database.
    pub(crate) fn err(&self, e: sqlx::Error) -> StoreError {
        match self.engine {
            Engine::Sqlite => sqlite::classify(&self.db, self.busy_timeout, e),
            Engine::Postgres => postgres::classify(&self.db, self.busy_timeout, e),
        }
    }

    /// Builds a [`StoreError::Invalid`] naming the database.
    pub(crate) fn invalid(&self, message: impl Into<String>) -> StoreError {
        StoreError::Invalid { db: self.db.to_string(), message: message.into() }
    }

    /// Builds a [`StoreError::RunNotFound`] for a run id or prefix.
    pub(crate) fn run_not_found(&self, prefix: &str) -> StoreError {
        StoreError::RunNotFound { db: self.db.to_string(), prefix: prefix.to_owned() }
    }

    /// Maps a foreign-key violation to [`StoreError::MissingReference`], anything else as usual.
    pub(crate) fn err_writing(&self, what: &str, e: sqlx::Error) -> StoreError {
        match &e {
            sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::ForeignKeyViolation => {
                StoreError::MissingReference { db: self.db.to_string(), what: what.to_owned() }
            }
            _ => self.err(e),
        }
    }
}
