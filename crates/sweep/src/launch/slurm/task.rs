//! `pixelcnn worker --claim-next`: the body of one task of a cluster sweep's job array. It claims
//! the next configuration of its submission that needs a worker (queued first, then interrupted
//! or stale ones), records its Slurm task on the run, trains it like any worker (without the
//! stdin lifeline: under Slurm stdin is /dev/null), and, when Slurm warned it of the time limit
//! with SIGUSR2, requeues itself after recording `interrupted`, so the requeued task resumes the
//! run from its checkpoint. After a run that ended (finished, pruned or paused at a rung) it claims again while its
//! time limit leaves room for another such run, and it ends when nothing of its submission is
//! left to claim: usually at once, since an earlier task or another submission got there first.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use pixelcnn_store::{RunStatus, SlurmTask, Store, Worker};

use super::cluster;
use super::script::WARNING_SECONDS;
use pixelcnn_config::safe_name;

use crate::error::Result;
use crate::heartbeat::Flags;
use crate::worker::{WorkerArgs, host_name, stop_flags, work};

/// What a task is told to do.
#[derive(Debug, Clone)]
pub struct TaskArgs {
    /// Store URL.
    pub db: String,
    /// The file listing the configurations (hashes, one per line) the task may claim: those its
    /// submission queued.
    pub configs: PathBuf,
    /// The runs folder (shared by every task): a run trains in `<runs_dir>/<its experiment>/<id>/`.
    pub runs_dir: PathBuf,
    /// A `running` run whose heartbeat is older is taken over.
    pub stale_after: Duration,
    /// Time between heartbeats.
    pub heartbeat_every: Duration,
}

/// How a task ended: with the last run it trained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    /// Nothing was left to claim.
    NothingToClaim,
    /// The run it trained ended with this status.
    Trained {
        /// The run.
        run_id: String,
        /// Its status.
        status: RunStatus,
        /// Whether the task requeued itself (SIGUSR2 before the time limit).
        requeued: bool,
    },
}

/// The Slurm task this process runs in, from Slurm's environment.
fn slurm_task() -> Option<SlurmTask> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Some(SlurmTask {
        job_id: var("SLURM_JOB_ID")?,
        array_job_id: var("SLURM_ARRAY_JOB_ID"),
        array_task_id: var("SLURM_ARRAY_TASK_ID").and_then(|v| v.parse().ok()),
    })
}

/// Claims and trains runs of its submission one after another until none is left to claim (see
/// the module documentation); returns how the last one ended.
pub fn run_task(args: &TaskArgs) -> Result<TaskOutcome> {
    // Signals first: a SIGTERM (scancel) or SIGUSR2 between the claim and the first step still
    // stops the run cleanly.
    let flags = stop_flags(false)?;
    let configs = super::read_configs(&args.configs)?;
    let task = slurm_task();
    let mut outcome = TaskOutcome::NothingToClaim;
    // Usually one run per task: the launcher submits a task per configuration. Going on after a
    // finished run, while the allocation has time for another like it, is what guarantees that
    // every configuration of the list is trained when tasks of several submissions share
    // configurations (see `submit_sweep`). A run that did not finish (stopped, failed,
    // requeued) ends the task.
    loop {
        let started = Instant::now();
        let Some(trained) = train_next(args, &configs, task.as_ref(), &flags)? else { break };
        // A run paused at a synchronous rung ended its part too: the decision queues the runs
        // that continue, and the task that completed the rung (or any that is still claiming)
        // takes them.
        let finished = matches!(
            &trained,
            TaskOutcome::Trained { status: RunStatus::Finished | RunStatus::Pruned | RunStatus::Paused, .. }
        );
        outcome = trained;
        if !finished || flags.stop.load(Ordering::SeqCst) {
            break;
        }
        let left = task.as_ref().and_then(|task| cluster::time_left(&task.job_id));
        if !time_for_another(left, started.elapsed()) {
            tracing::info!("the time limit is too close for another run like the last: the task ends");
            break;
        }
    }
    Ok(outcome)
}

/// Whether a task with `left` before its time limit (`None`: no limit) has time for another run
/// that takes `last`, before Slurm's warning. When it has not, the task ends rather than start a
/// run that the warning would interrupt: the configurations left are other tasks' to take.
fn time_for_another(left: Option<Duration>, last: Duration) -> bool {
    left.is_none_or(|left| left >= last + Duration::from_secs(WARNING_SECONDS.into()))
}

/// Claims the next configuration of `configs` and trains it; `None` when nothing is left.
/// `task` is the Slurm task this process runs in, recorded on the run.
fn train_next(
    args: &TaskArgs,
    configs: &[String],
    task: Option<&SlurmTask>,
    flags: &Flags,
) -> Result<Option<TaskOutcome>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let store = rt.block_on(Store::open(&args.db))?;
    let worker = Worker { pid: std::process::id(), host: host_name(), device: None, threads: None };
    let Some(taken) = rt.block_on(store.claim_next(configs, &worker, args.stale_after))? else {
        tracing::info!(
            "nothing left to claim among the {} configuration(s) of {}",
            configs.len(),
            args.configs.display()
        );
        rt.block_on(store.close());
        return Ok(None);
    };
    let run_id = taken.lease.run_id.clone();
    // The folder of the experiment that first trained the configuration: its checkpoints are there.
    let experiment = rt.block_on(store.run(&run_id))?.experiment;
    if let Some(task) = task {
        rt.block_on(store.set_slurm_task(&taken.lease, task))?;
    }
    tracing::info!(
        "run {run_id}: {:?} from epoch {} in Slurm task {}",
        taken.kind,
        taken.from_epoch,
        task.map_or_else(|| "(none)".to_owned(), ToString::to_string)
    );
    rt.block_on(store.close());
    drop(rt);
    // The allocation's CPUs, as the local launcher gives each run its share of the machine's cores.
    let threads = std::env::var("SLURM_CPUS_PER_TASK").ok().and_then(|v| v.parse().ok());
    let status = work(
        &WorkerArgs {
            db: args.db.clone(),
            run_id: run_id.clone(),
            lease: taken.lease.token.clone(),
            heartbeat_every: args.heartbeat_every,
            out: args.runs_dir.join(safe_name(&experiment)).join(&run_id),
            from_epoch: taken.from_epoch,
            device: None,
            threads,
            lifeline: false,
        },
        flags,
    )?;
    let requeued = status == RunStatus::Interrupted && flags.requeue.load(Ordering::SeqCst);
    if requeued && let Some(task) = task {
        tracing::warn!("run {run_id}: interrupted before the time limit; requeueing task {task}");
        cluster::requeue(&task.job_id)?;
    }
    Ok(Some(TaskOutcome::Trained { run_id, status, requeued }))
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
