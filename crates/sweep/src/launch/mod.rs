//! Where worker processes run: on this machine, one per device slot ([`local`]), or as the tasks
//! of a Slurm job array ([`slurm`]). Either way a worker claims its runs from the store's queue
//! (`claimer.rs`); a launcher only starts workers and watches them, and settles the run of a
//! worker that died without recording its end.

pub(crate) mod local;
pub mod slurm;

use pixelcnn_record::RunStatus;
use pixelcnn_store::{Lease, Store, StoreError};

use crate::error::Result;
use crate::rungs::release_waiting_rungs;

/// Makes sure a run whose worker is gone (or recorded no end) is not left `running` under the
/// worker's lease: a worker that died without recording its end (crash, kill, out of memory)
/// leaves a failed run with the reason, `how` the worker ended. Returns the run's end status, or
/// `None` when the run now belongs to another claim (it was taken over: its status is the new
/// owner's to set).
pub(crate) async fn settle(store: &Store, lease: &Lease, how: &str) -> Result<Option<RunStatus>> {
    let detail = store.run(&lease.run_id).await?;
    if detail.status != RunStatus::Running {
        return Ok(Some(detail.status));
    }
    let reason = format!("worker process ended without recording a result ({how})");
    match store.finish_run(lease, RunStatus::Failed, Some(&reason)).await {
        Ok(()) => {
            release_waiting_rungs(store, &lease.run_id).await?;
            Ok(Some(RunStatus::Failed))
        }
        Err(StoreError::LeaseLost { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
