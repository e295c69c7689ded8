//! Sweeps: every configuration of an experiment file trained once, recorded in the store,
//! resumed and deduplicated by `config_hash`. A sweep queues what needs training in the store;
//! worker processes claim it from there (`claimer.rs`), started on this machine's device slots
//! (`scheduler.rs`, `launch/local.rs`) or as the tasks of a Slurm job array (`launch/slurm`).

mod claimer;
mod error;
pub mod events;
mod git;
mod heartbeat;
mod launch;
mod options;
mod progress;
mod recorder;
mod register;
mod rerun;
mod rungs;
mod scheduler;
mod single;
mod slots;
mod worker;

pub use claimer::{ClaimQueue, ClaimerArgs, ClaimerOutcome, run_claimer};
pub use error::{Result, SweepError};
pub use git::GitState;
pub use launch::slurm::{SlurmOptions, Submission, submit_sweep};
pub use options::SweepOptions;
pub use rerun::{RerunOptions, RerunOutcome, rerun};
pub use scheduler::{SweepReport, run_sweep};
pub use single::{SingleRun, train_recorded};
