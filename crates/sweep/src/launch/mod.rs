//! Launching workers, behind a trait so that the claim loop (`scheduler.rs`) and `rerun` do not
//! depend on where a worker runs. Today's only launcher starts local `pixelcnn worker` processes
//! ([`local`]); a cluster launcher (Slurm) is the reason for the seam.
//!
//! The shape follows what the callers need and no more: a claim records where its worker runs, so
//! the place is known before the claim ([`Launcher::vacancy`]); what ends a run whose worker died
//! is its lease and a description of how the worker ended (a process exit status here, a job state
//! elsewhere), hence [`Ended`] rather than a process handle; and Ctrl-C is one decision for the
//! whole sweep, so stopping and killing address every worker at once.

pub(crate) mod local;
pub mod slurm;

use pixelcnn_store::{Lease, RunStatus, Store, StoreError};
use std::path::PathBuf;

use crate::error::Result;
use crate::slots::Slot;

/// A run a claim handed out, to be trained by a worker.
pub(crate) struct ClaimedRun {
    /// The claim's lease: the worker writes to the run only under it.
    pub(crate) lease: Lease,
    /// Last completed epoch: the worker resumes from its checkpoint (0: fresh).
    pub(crate) from_epoch: u32,
    /// The run's output folder.
    pub(crate) out: PathBuf,
}

/// A worker that is gone.
pub(crate) struct Ended {
    /// The lease it ran under: the run is settled under it (`settle`).
    pub(crate) lease: Lease,
    /// How it ended, for the failure reason of a run it left without a result.
    pub(crate) how: String,
}

/// Starts workers and reports when they end.
pub(crate) trait Launcher {
    /// Where the next worker would run, or `None` while every place is taken.
    fn vacancy(&self) -> Option<&Slot>;

    /// Starts a worker for `run` on the current vacancy.
    fn launch(&mut self, run: ClaimedRun);

    /// Waits until a worker ends; `None` when none is running. Cancel-safe: dropping the future
    /// loses no exit, so it can race Ctrl-C in a `select!`.
    async fn next_exit(&mut self) -> Option<Result<Ended>>;

    /// Asks every worker to stop at its next step (it records `interrupted`).
    fn stop(&mut self);

    /// Ends every worker now (the run is settled as failed).
    fn kill(&mut self);
}

/// Makes sure a run whose worker is gone is not left `running` under this claim's lease: a
/// worker that died without recording its end (crash, kill, out of memory) leaves a failed run
/// with the reason. Returns the run's end status, or `None` when the run now belongs to another
/// claim (it was taken over: its status is the new owner's to set).
pub(crate) async fn settle(store: &Store, ended: &Ended) -> Result<Option<RunStatus>> {
    let detail = store.run(&ended.lease.run_id).await?;
    if detail.status != RunStatus::Running {
        return Ok(Some(detail.status));
    }
    let reason = format!("worker process ended without recording a result ({})", ended.how);
    match store.finish_run(&ended.lease, RunStatus::Failed, Some(&reason)).await {
        Ok(()) => Ok(Some(RunStatus::Failed)),
        Err(StoreError::LeaseLost { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
