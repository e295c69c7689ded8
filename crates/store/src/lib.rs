//! Results store of pixelcnn-lab: experiments, sweeps, execution attempts ("runs"), per-epoch
//! metrics and artefacts, in a database chosen by URL.
//!
//! SQLite (`sqlite://PATH`) is the engine today; every query is portable SQL (`$1` placeholders,
//! `ON CONFLICT`, `RETURNING`, no engine functions) so that sweeps that outgrow one machine can
//! later share a PostgreSQL database. SQLite-specific settings live in one module. The schema
//! comes only from the embedded migrations in `migrations/`, applied at every open.
//!
//! The store takes plain data (JSON values, strings, and `pixelcnn_record`'s epoch metrics and
//! artefact kinds) and knows nothing about burn or the training code, so that it compiles fast and
//! tools that only read results stay light.

mod artefacts;
mod claim;
mod clock;
mod epochs;
mod error;
mod experiments;
mod lease;
mod model;
mod open;
mod query;
mod rows;
mod runs;
mod sqlite;
mod verdicts;

use std::sync::Arc;
use std::time::Duration;

pub use claim::{Claim, ClaimKind, ClaimRequest, Decision, SkipReason, decide};
pub use error::{Result, StoreError};
pub use lease::Lease;
pub use model::{
    Artefact, ArtefactContent, Attempt, Experiment, MetricRow, NewArtefact, NewRun, NewSweep, RunDetail,
    RunFilter, RunStatus, RunSummary, Sweep, Worker,
};
pub use open::{DB_ENV, DEFAULT_DB_PATH, StoreOptions, default_url, resolve_url, to_url, url_from_path};
pub use query::parse_where;
pub use verdicts::{Difference, RerunVerdict, Verdict};

/// The schema, embedded at compile time so that the binary carries it.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// A handle on the results database. Cheap to clone (a shared connection pool); each process,
/// or each task that wants its own connections, opens its own.
#[derive(Clone, Debug)]
pub struct Store {
    /// The connection pool. A PostgreSQL backend will turn this into an enum of pools.
    pub(crate) pool: sqlx::SqlitePool,
    /// The database file, for messages.
    pub(crate) db: Arc<str>,
    /// The busy timeout in force, reported by [`StoreError::Locked`].
    pub(crate) busy_timeout: Duration,
}

impl Store {
    /// Maps a driver error to the clearest [`StoreError`], naming the database.
    pub(crate) fn err(&self, e: sqlx::Error) -> StoreError {
        sqlite::classify(&self.db, self.busy_timeout, e)
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
