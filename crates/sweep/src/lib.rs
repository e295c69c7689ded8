//! Sweeps: every configuration of an experiment file trained once, each in its own worker process,
//! recorded in the store, resumed and deduplicated by `config_hash`.

mod error;
pub mod estimate;
pub mod events;
mod git;
mod hash;
mod heartbeat;
mod launch;
pub mod preflight;
mod progress;
mod register;
mod rerun;
mod scheduler;
mod slots;
pub mod worker;

pub use error::{Result, SweepError};
pub use git::GitState;
pub use hash::config_hash;
pub use register::{data_checksums, safe_name};
pub use rerun::{RerunOptions, RerunOutcome, rerun};
pub use scheduler::{SweepOptions, SweepReport, run_sweep};
pub use worker::{WorkerArgs, run_worker};
