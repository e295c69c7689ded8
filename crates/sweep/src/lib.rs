//! Sweeps: every configuration of an experiment file trained once, each in its own worker process,
//! recorded in the store, resumed and deduplicated by `config_hash`.

mod error;
pub mod estimate;
pub mod events;
mod git;
mod heartbeat;
mod launch;
mod progress;
mod register;
mod rerun;
mod rungs;
mod scheduler;
mod slots;
pub mod throughput;
pub mod worker;

pub use error::{Result, SweepError};
pub use git::GitState;
pub use launch::slurm::{SlurmOptions, Submission, TaskArgs, TaskOutcome, run_task, submit_sweep};
pub use rerun::{RerunOptions, RerunOutcome, rerun};
pub use scheduler::{SweepOptions, SweepReport, run_sweep};
pub use worker::{WorkerArgs, run_worker};
