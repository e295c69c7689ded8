//! What a worker does differently inside a task of a Slurm job array (`claimer.rs` asks): it
//! records its task on every run it claims, takes the task's CPUs as its threads, requeues its
//! task after recording `interrupted` when Slurm warned it of the time limit with SIGUSR2 (the
//! requeued task resumes the run from its checkpoint), and claims another run only while the
//! time limit leaves room for one like the last: the configurations left are other tasks' to
//! take.

use std::time::Duration;

use pixelcnn_store::{Lease, SlurmTask, Store};

use super::cluster;
use super::script::WARNING_SECONDS;
use crate::error::Result;

/// The Slurm task this process runs in.
pub(crate) struct TaskEnv {
    /// Its ids, as recorded on the runs it trains.
    pub(crate) task: SlurmTask,
}

impl TaskEnv {
    /// The task, from Slurm's environment; `None` outside Slurm.
    pub(crate) fn current() -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let task = SlurmTask {
            job_id: var("SLURM_JOB_ID")?,
            array_job_id: var("SLURM_ARRAY_JOB_ID"),
            array_task_id: var("SLURM_ARRAY_TASK_ID").and_then(|v| v.parse().ok()),
        };
        Some(Self { task })
    }

    /// The task's CPUs, as the local launcher gives each slot its share of the machine's cores.
    pub(crate) fn cpus(&self) -> Option<usize> {
        std::env::var("SLURM_CPUS_PER_TASK").ok().and_then(|v| v.parse().ok())
    }

    /// Records the task on the run it claimed.
    pub(crate) async fn record(&self, store: &Store, lease: &Lease) -> Result<()> {
        Ok(store.set_slurm_task(lease, &self.task).await?)
    }

    /// Requeues the task (after its run recorded `interrupted`).
    pub(crate) fn requeue(&self) -> Result<()> {
        cluster::requeue(&self.task.job_id)
    }

    /// Whether the task has time for another run that takes `last`, before Slurm's warning.
    pub(crate) fn has_time_for(&self, last: Duration) -> bool {
        time_for_another(cluster::time_left(&self.task.job_id), last)
    }
}

/// Whether a task with `left` before its time limit (`None`: no limit) has time for another run
/// that takes `last`, before Slurm's warning.
fn time_for_another(left: Option<Duration>, last: Duration) -> bool {
    left.is_none_or(|left| left >= last + Duration::from_secs(WARNING_SECONDS.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_goes_on_only_with_time_for_another_run_before_the_warning() {
        let (min, hour) = (Duration::from_secs(60), Duration::from_secs(3600));
        assert!(time_for_another(None, 10 * hour), "no time limit");
        assert!(time_for_another(Some(3 * hour), hour));
        // Time for the run, but not for the run and the warning's 120 s.
        assert!(!time_for_another(Some(hour + min), hour));
        assert!(time_for_another(Some(hour + 2 * min), hour));
    }
}
