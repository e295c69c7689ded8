//! The sweep's claim loop: claims configurations one at a time from the store (so that two sweeps
//! on one database share the work instead of repeating it), hands each to a [`Launcher`] while it
//! has room, settles each run whose worker ends, and handles Ctrl-C (first: workers stop and
//! record `interrupted`; second: workers are killed).

use std::path::PathBuf;
use std::time::Duration;

use pixelcnn_config::{Experiment, safe_name};
use pixelcnn_record::Promotion;
use pixelcnn_store::{Claim, ClaimRequest, RunStatus, SkipReason, Store};

use crate::error::Result;
use crate::launch::local::{LocalLauncher, WorkerCommand};
use crate::launch::{ClaimedRun, Launcher, settle};
use crate::progress::Progress;
use crate::register::{Registered, preflight, register};
use crate::slots::Slot;

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

/// What a sweep did with each configuration.
#[derive(Debug, Clone, Default)]
pub struct SweepReport {
    /// Runs trained by this sweep, with their final status.
    pub trained: Vec<(String, RunStatus)>,
    /// Configurations that needed nothing, with the attempt that explains why.
    pub skipped: Vec<(String, SkipReason)>,
    /// Runs this sweep started that another sweep took over (this sweep's worker was frozen past
    /// the other's stale limit); they go on there.
    pub taken_over: Vec<String>,
    /// The sweep was stopped by Ctrl-C.
    pub interrupted: bool,
}

impl SweepReport {
    /// Keeps one entry per trained run, its last: a run paused at a synchronous rung and resumed
    /// after the decision was trained once, and ends with its final status. A run still paused
    /// (its rung waits for another sweep's run, or Ctrl-C) keeps `paused`; one that was pruned
    /// by the decision while it waited is `pruned`.
    async fn settle_paused(&mut self, store: &Store) -> Result<()> {
        let mut last: Vec<(String, RunStatus)> = Vec::new();
        for (id, status) in self.trained.drain(..).rev() {
            if !last.iter().any(|(seen, _)| *seen == id) {
                last.push((id, status));
            }
        }
        last.reverse();
        for (id, status) in &mut last {
            if *status == RunStatus::Paused {
                *status = store.run(id).await?.status;
            }
        }
        self.trained = last;
        Ok(())
    }
}

/// Runs every planned run of `experiment` that the store says still needs training.
pub async fn run_sweep(experiment: &Experiment, options: &SweepOptions) -> Result<SweepReport> {
    // Every device and data folder is checked before the store is opened: an invalid request
    // writes nothing. The data checksums computed there give the runs their identity.
    let checksums = preflight(experiment.runs.iter().map(|r| r.config.clone()).collect()).await?;
    let store = Store::open(&options.db_url).await?;
    for id in store.mark_stale_running_as_interrupted(options.stale_after).await? {
        tracing::warn!("run {id} was left running with a stale heartbeat: marked interrupted");
    }
    let Registered { runs, search } = register(&store, experiment, options, &checksums).await?;
    let progress = Progress::new(runs.len());
    let command = WorkerCommand {
        exe: options.worker_exe.clone(),
        db: options.db_url.clone(),
        heartbeat_every: options.heartbeat_every,
    };
    let mut launcher = LocalLauncher::new(command, Slot::local(options.parallel), progress.clone());
    let mut report = SweepReport::default();
    let mut stopping = false;
    // One listener for the whole sweep, so that no Ctrl-C is missed between two waits.
    let mut interrupts = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    // A pass claims every configuration once. Runs paused at a synchronous rung are queued again
    // by its decision: passes go on, each after deciding what waits, until one claims nothing.
    let mut pass = 0;
    loop {
        let mut claimed = false;
        let mut pending = runs.iter().cloned();
        loop {
            while !stopping && let Some(slot) = launcher.vacancy() {
                let Some(run) = pending.next() else { break };
                let request = ClaimRequest {
                    run,
                    worker: slot.worker(),
                    retry_failed: options.retry_failed && pass == 0,
                    stale_after: Some(options.stale_after),
                };
                match store.claim_config(&request).await? {
                    // Later passes look for resumed runs only: the first one told of the rest.
                    Claim::Skipped { .. } if pass > 0 => {}
                    Claim::Skipped { run_id, reason } => {
                        progress.skipped(&run_id, reason);
                        report.skipped.push((run_id, reason));
                    }
                    Claim::Claimed { run_id, lease, from_epoch, kind } => {
                        claimed = true;
                        // The folder of the experiment whose attempt it is: a configuration another
                        // experiment trained first (same hash) has its checkpoints there.
                        let owner = store.run(&run_id).await?.experiment;
                        let out = options.runs_dir.join(safe_name(&owner)).join(&run_id);
                        tracing::info!("run {run_id}: {kind:?} from epoch {from_epoch} in {}", out.display());
                        launcher.launch(ClaimedRun { lease, from_epoch, out });
                    }
                }
            }
            tokio::select! {
                // Exits first: with no worker left, the pass ends rather than waiting for a Ctrl-C.
                biased;
                ended = launcher.next_exit() => {
                    let Some(ended) = ended else { break };
                    let ended = ended?;
                    let run_id = ended.lease.run_id.clone();
                    match settle(&store, &ended).await? {
                        Some(status) => {
                            progress.finished(&run_id, status);
                            report.trained.push((run_id, status));
                        }
                        None => {
                            progress.taken_over(&run_id);
                            report.taken_over.push(run_id);
                        }
                    }
                }
                _ = interrupts.recv() => {
                    if stopping {
                        tracing::warn!("second Ctrl-C: killing workers");
                        launcher.kill();
                    } else {
                        tracing::warn!("Ctrl-C: stopping; running runs are marked interrupted and resume on the next sweep (Ctrl-C again to kill)");
                        stopping = true;
                        report.interrupted = true;
                        launcher.stop();
                    }
                }
            }
        }
        pass += 1;
        let Some(search) = search.as_ref().filter(|s| s.asha.promotion == Promotion::Synchronous) else {
            break;
        };
        if stopping {
            break;
        }
        // A pass that claimed nothing ends the sweep, unless a rung that waited on failed runs
        // only is decided now (its continuing runs are queued for the next pass).
        if store.decide_waiting_rungs(search).await?.is_empty() && !claimed {
            break;
        }
        // Runs pruned while they waited at a rung never come back to a worker: count them now.
        let mut waiting = 0;
        for run in &runs {
            let latest = store.latest_attempt(&run.config_hash).await?;
            waiting += usize::from(
                latest.is_some_and(|a| matches!(a.status, RunStatus::Paused | RunStatus::Queued)),
            );
        }
        progress.set_done(runs.len() - waiting);
        tracing::info!(
            "pass {pass} over the search's configurations ended: resuming the runs its rungs continued"
        );
    }
    report.settle_paused(&store).await?;
    progress.done();
    store.close().await;
    Ok(report)
}
