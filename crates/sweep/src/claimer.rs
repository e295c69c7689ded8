//! `pixelcnn worker`: the one way a run gets trained. A worker process claims the next run of its
//! queue from the store ([`Store::claim_next`]), trains it (`worker.rs`), and claims again, until
//! nothing of its queue is left to claim. A local sweep starts one such process per device slot
//! (with the stdin lifeline: it stops when the sweep goes away); a Slurm job array runs one per
//! task (which also records its task on the run, requeues itself after Slurm's time-limit
//! warning, and claims again only while its time limit leaves room for another run, see
//! `launch/slurm/task.rs`); `rerun` starts one whose queue is the single queued rerun.
//!
//! On stdout it tells its launcher what it claims and how each run ended ([`WorkerEvent`]), so
//! that a launcher whose worker died can settle the run it was training.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use pixelcnn_config::{DeviceSpec, safe_name};
use pixelcnn_record::RunStatus;
use pixelcnn_store::{ClaimKind, Store, Taken, Worker};

use crate::error::{Result, SweepError};
use crate::events::{WorkerEvent, emit};
use crate::heartbeat::Flags;
use crate::launch::slurm::task::TaskEnv;
use crate::worker::{Assignment, host_name, stop_flags, work};

/// What a worker may claim.
#[derive(Debug, Clone)]
pub enum ClaimQueue {
    /// The configurations (hashes, one per line) listed in this file: what one sweep or Slurm
    /// submission queued, in its claim order.
    Configs(PathBuf),
    /// This one queued run (a rerun, which sweeps never claim).
    Run(String),
}

/// What a worker is told to do.
#[derive(Debug, Clone)]
pub struct ClaimerArgs {
    /// Store URL.
    pub db: String,
    /// What it may claim.
    pub queue: ClaimQueue,
    /// A run trains in `<runs_dir>/<its experiment>/<run id>/`.
    pub runs_dir: PathBuf,
    /// A `running` run whose heartbeat is older than this is taken over.
    pub stale_after: Duration,
    /// Time between heartbeats.
    pub heartbeat_every: Duration,
    /// The device slot's placement (overrides `device = "auto"`).
    pub device: Option<DeviceSpec>,
    /// The slot's share of the cores, for runs whose `threads` is 0 (auto). Inside a Slurm task
    /// the task's CPUs are the default.
    pub threads: Option<usize>,
    /// Stop when stdin reaches end-of-file: a local sweep holds it open as the worker's
    /// lifeline. Off under Slurm, where stdin is /dev/null and liveness is the lease alone.
    pub lifeline: bool,
}

/// How a worker ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimerOutcome {
    /// Each run it trained, with the status it ended with, in order.
    pub trained: Vec<(String, RunStatus)>,
    /// It stopped on a signal (or its lifeline) rather than for want of anything to claim.
    pub stopped: bool,
    /// Inside a Slurm task: it requeued the task after the time-limit warning.
    pub requeued: bool,
}

impl ClaimerOutcome {
    /// Whether a run it trained failed.
    pub fn any_failed(&self) -> bool {
        self.trained.iter().any(|(_, s)| *s == RunStatus::Failed)
    }
}

/// Claims and trains runs of `args.queue` until none is left to claim, a signal stops it, or its
/// run is taken over by another worker ([`SweepError::LeaseLost`], after the `ended` event).
pub fn run_claimer(args: &ClaimerArgs) -> Result<ClaimerOutcome> {
    // Signals first: a SIGTERM (scancel) or SIGUSR2 between the claim and the first step still
    // stops the run cleanly.
    let flags = stop_flags(args.lifeline)?;
    let queue = Queue::load(&args.queue)?;
    let task = TaskEnv::current();
    let mut outcome = ClaimerOutcome::default();
    while !flags.stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let Some((claimed, out)) = rt.block_on(claim(args, &queue, task.as_ref()))? else {
            break;
        };
        drop(rt);
        let run_id = claimed.lease.run_id.clone();
        emit(&WorkerEvent::Claimed {
            run_id: run_id.clone(),
            lease: claimed.lease.token.clone(),
            from_epoch: claimed.from_epoch,
        });
        let status = train(args, &claimed, out, task.as_ref(), &flags);
        emit(&WorkerEvent::Ended {
            run_id: run_id.clone(),
            status: status.as_ref().ok().map(|s| s.as_str().to_owned()),
        });
        let status = status?;
        outcome.trained.push((run_id.clone(), status));
        if status == RunStatus::Interrupted {
            outcome.stopped = true;
            if flags.requeue.load(Ordering::SeqCst)
                && let Some(task) = &task
            {
                tracing::warn!(
                    "run {run_id}: interrupted before the time limit; requeueing task {}",
                    task.task
                );
                task.requeue()?;
                outcome.requeued = true;
            }
            break;
        }
        if task.as_ref().is_some_and(|t| !t.has_time_for(started.elapsed())) {
            tracing::info!("the time limit is too close for another run like the last: the task ends");
            break;
        }
    }
    outcome.stopped |= flags.stop.load(Ordering::SeqCst);
    Ok(outcome)
}

/// Claims the next run of the queue for this process, and where it trains; `None` when nothing
/// is left to claim.
async fn claim(
    args: &ClaimerArgs,
    queue: &Queue,
    task: Option<&TaskEnv>,
) -> Result<Option<(Taken, PathBuf)>> {
    let store = Store::open(&args.db).await?;
    let worker = Worker {
        pid: std::process::id(),
        host: host_name(),
        device: args.device.map(|d| d.to_string()),
        threads: threads(args, task).and_then(|t| u32::try_from(t).ok()),
    };
    let taken = match queue {
        Queue::Configs(configs) => store.claim_next(configs, &worker, args.stale_after).await?,
        Queue::Run(id) => store.claim(id, &worker).await?.map(|lease| Taken {
            lease,
            from_epoch: 0,
            kind: ClaimKind::Queued,
        }),
    };
    let Some(taken) = taken else {
        tracing::info!("nothing left to claim in {}", describe(&args.queue));
        store.close().await;
        return Ok(None);
    };
    let run_id = &taken.lease.run_id;
    // The folder of the experiment whose attempt it is: a configuration another experiment
    // trained first (same hash, so the same numbers) has its checkpoints there.
    let experiment = store.run(run_id).await?.experiment;
    if let Some(task) = task {
        task.record(&store, &taken.lease).await?;
    }
    let out = args.runs_dir.join(safe_name(&experiment)).join(run_id);
    tracing::info!(
        "run {run_id}: {:?} from epoch {} in {}{}",
        taken.kind,
        taken.from_epoch,
        out.display(),
        task.map_or_else(String::new, |t| format!(" (Slurm task {})", t.task))
    );
    store.close().await;
    Ok(Some((taken, out)))
}

/// Trains a claimed run to its end status.
fn train(
    args: &ClaimerArgs,
    taken: &Taken,
    out: PathBuf,
    task: Option<&TaskEnv>,
    flags: &Flags,
) -> Result<RunStatus> {
    work(
        &Assignment {
            db: args.db.clone(),
            lease: taken.lease.clone(),
            heartbeat_every: args.heartbeat_every,
            out,
            from_epoch: taken.from_epoch,
            device: args.device,
            threads: threads(args, task),
        },
        flags,
    )
}

/// The slot's threads, else (inside a Slurm task) the task's CPUs.
fn threads(args: &ClaimerArgs, task: Option<&TaskEnv>) -> Option<usize> {
    args.threads.or_else(|| task.and_then(TaskEnv::cpus))
}

/// A [`ClaimQueue`] read.
enum Queue {
    Configs(Vec<String>),
    Run(String),
}

impl Queue {
    fn load(queue: &ClaimQueue) -> Result<Self> {
        Ok(match queue {
            ClaimQueue::Configs(list) => Queue::Configs(read_configs(list)?),
            ClaimQueue::Run(id) => Queue::Run(id.clone()),
        })
    }
}

fn describe(queue: &ClaimQueue) -> String {
    match queue {
        ClaimQueue::Configs(list) => list.display().to_string(),
        ClaimQueue::Run(id) => format!("run {id}"),
    }
}

/// The configurations (hashes, one per line) of a queue's list.
pub(crate) fn read_configs(list: &std::path::Path) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(list).map_err(|source| SweepError::File { path: list.to_owned(), source })?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect())
}

/// Writes a queue's list of configurations (what [`read_configs`] reads).
pub(crate) fn write_configs(list: &std::path::Path, hashes: &[String]) -> Result<()> {
    let file = |source| SweepError::File { path: list.to_owned(), source };
    if let Some(dir) = list.parent() {
        std::fs::create_dir_all(dir).map_err(file)?;
    }
    std::fs::write(list, hashes.join("\n") + "\n").map_err(file)
}
