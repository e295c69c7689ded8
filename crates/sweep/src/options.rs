//! How a sweep runs, shared by the local sweep (`scheduler.rs`), the Slurm submission and the
//! registration both start with.

use std::path::PathBuf;
use std::time::Duration;

/// How to run a sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Store URL.
    pub db_url: String,
    /// Runs write into `<runs_dir>/<experiment>/<run id>/` (the experiment whose attempt it is).
    pub runs_dir: PathBuf,
    /// Runs at once per device (default 1: on a CPU one run uses every core).
    pub parallel: usize,
    /// Start a new attempt for configurations whose latest attempt failed.
    pub retry_failed: bool,
    /// Labels for the runs created.
    pub tags: Vec<String>,
    /// Free text for the sweep and its runs.
    pub note: Option<String>,
    /// Versions of the tools and the machine, recorded with every run (with the git diff's and the
    /// data's hashes added per run).
    pub versions: serde_json::Value,
    /// The `pixelcnn` binary that runs workers.
    pub worker_exe: PathBuf,
    /// A `running` run whose heartbeat is older than this is taken for interrupted.
    pub stale_after: Duration,
    /// Time between two heartbeats of a worker (well below `stale_after`).
    pub heartbeat_every: Duration,
    /// The overrides as typed, recorded with the sweep.
    pub overrides: Vec<String>,
}
