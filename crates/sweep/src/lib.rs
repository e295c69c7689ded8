//! Sweeps: every configuration of an experiment file trained once, each in its own worker process,
//! recorded in the store, resumed and deduplicated by `config_hash`.

mod error;
pub mod estimate;
pub mod events;
mod git;
mod hash;
mod heartbeat;
pub mod preflight;
mod rerun;
mod scheduler;
pub mod worker;

pub use error::{Result, SweepError};
pub use git::GitState;
pub use hash::config_hash;
pub use rerun::{RerunOptions, RerunOutcome, rerun};
pub use scheduler::{SweepOptions, SweepReport, data_checksums, run_sweep, safe_name};
pub use worker::{WorkerArgs, run_worker};
