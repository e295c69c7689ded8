//! A local sweep: registers and queues what needs training (as a Slurm submission does), then
//! keeps a worker process on every device slot while the queue has runs to claim; the workers
//! claim them from the store (`claimer.rs`), so that two sweeps on one database share the work
//! instead of repeating it. It settles the run of a worker that died, starts workers again when
//! runs are queued later (a synchronous rung's decision continues runs that paused there), and
//! handles Ctrl-C (first: workers stop and record `interrupted`; second: workers are killed).

use std::time::Duration;

use pixelcnn_config::Experiment;
use pixelcnn_record::{Promotion, RunStatus};
use pixelcnn_store::{Lease, SkipReason, Store};

use crate::claimer::{ClaimQueue, write_configs};
use crate::error::{Result, SweepError};
use crate::launch::local::{Happened, LocalLauncher, WorkerCommand};
use crate::launch::settle;
use crate::options::SweepOptions;
use crate::progress::Progress;
use crate::register::{Registered, enqueue, preflight, register};
use crate::slots::Slot;

/// How often a sweep with a free slot looks for runs queued since (by a rung's decision, or
/// another sweep's interrupted run).
const LOOK_FOR_QUEUED_EVERY: Duration = Duration::from_secs(1);

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
    /// Configurations still queued when the sweep ended (it was stopped first): the next sweep
    /// takes them.
    pub left_queued: usize,
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

    /// Accounts for the queued configurations this sweep's workers did not train: another sweep
    /// on the database took them (running there, or ended there), or they are still queued
    /// because the sweep was stopped.
    async fn account_for_the_rest(&mut self, store: &Store, configs: &[String]) -> Result<()> {
        for hash in configs {
            let Some(latest) = store.latest_attempt(hash).await? else { continue };
            let ours = |id: &String| *id == latest.run_id;
            if self.trained.iter().any(|(id, _)| ours(id)) || self.taken_over.iter().any(ours) {
                continue;
            }
            let reason = match latest.status {
                RunStatus::Queued | RunStatus::Interrupted => {
                    self.left_queued += 1;
                    continue;
                }
                RunStatus::Running => SkipReason::RunningElsewhere,
                RunStatus::Finished => SkipReason::Finished,
                RunStatus::Failed => SkipReason::Failed,
                RunStatus::Pruned => SkipReason::Pruned,
                RunStatus::Paused => SkipReason::Paused,
            };
            self.skipped.push((latest.run_id, reason));
        }
        Ok(())
    }
}

/// Runs every planned run of `experiment` that the store says still needs training.
pub async fn run_sweep(experiment: &Experiment, options: &SweepOptions) -> Result<SweepReport> {
    // Every device and data folder is checked before the store is opened: an invalid request
    // writes nothing. The data checksums computed there give the runs their identity.
    let checksums = preflight(experiment.runs.iter().map(|r| r.config.clone()).collect()).await?;
    let store = Store::open(&options.db_url).await?;
    let outcome = sweep_on(&store, experiment, options, &checksums).await;
    store.close().await;
    outcome
}

async fn sweep_on(
    store: &Store,
    experiment: &Experiment,
    options: &SweepOptions,
    checksums: &pixelcnn_train::preflight::DataChecksums,
) -> Result<SweepReport> {
    for id in store.mark_stale_running_as_interrupted(options.stale_after).await? {
        tracing::warn!("run {id} was left running with a stale heartbeat: marked interrupted");
    }
    let Registered { runs, search } = register(store, experiment, options, checksums).await?;
    let queue = enqueue(store, &runs, options).await?;
    let configs = queue.claim_list(&runs);
    let progress = Progress::new(runs.len());
    let mut report = SweepReport::default();
    for (run_id, reason) in queue.skipped {
        progress.skipped(&run_id, reason);
        report.skipped.push((run_id, reason));
    }
    // The workers claim among this sweep's configurations, listed in a file they read at start.
    let list = tempfile::Builder::new().prefix("pixelcnn-queue-").suffix(".configs").tempfile()?;
    write_configs(list.path(), &configs)?;
    let command = WorkerCommand {
        exe: options.worker_exe.clone(),
        db: options.db_url.clone(),
        queue: ClaimQueue::Configs(list.path().to_owned()),
        runs_dir: options.runs_dir.clone(),
        stale_after: options.stale_after,
        heartbeat_every: options.heartbeat_every,
    };
    let mut launcher = LocalLauncher::new(command, Slot::local(options.parallel), progress.clone());
    let synchronous = search.as_ref().filter(|s| s.asha.promotion == Promotion::Synchronous);
    let mut stopping = false;
    let mut failure: Option<SweepError> = None;
    // One listener for the whole sweep, so that no Ctrl-C is missed between two waits.
    let mut interrupts = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut look = tokio::time::interval(LOOK_FOR_QUEUED_EVERY);
    look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if !stopping && launcher.vacancies() > 0 {
            // Workers that hold no run yet will claim some of what is claimable.
            let claimable = store.claimable(&configs, options.stale_after).await?;
            for _ in 0..claimable.saturating_sub(launcher.claiming()).min(launcher.vacancies()) {
                launcher.start();
            }
        }
        if launcher.running() == 0 {
            // Nothing runs and nothing is claimable: done, unless a rung that waited only on
            // runs that failed is decided now (its continuing runs are queued).
            let released = match synchronous {
                Some(search) if !stopping => !store.decide_waiting_rungs(search).await?.is_empty(),
                _ => false,
            };
            if !released {
                break;
            }
            continue;
        }
        tokio::select! {
            biased;
            happened = launcher.next() => {
                let Some(happened) = happened else { continue };
                match happened? {
                    Happened::RunEnded { lease, status } => {
                        let status = match status {
                            Some(status) => Some(status),
                            None => settle(store, &lease, "it recorded no end").await?,
                        };
                        ended(&progress, &mut report, &lease, status);
                        if synchronous.is_some() {
                            progress.set_done(done(store, &configs).await? + report.skipped.len());
                        }
                    }
                    Happened::Exited { current, claimed, how } => {
                        if let Some(lease) = current {
                            let status = settle(store, &lease, &how.to_string()).await?;
                            ended(&progress, &mut report, &lease, status);
                        } else if !claimed && !how.success() && !stopping && failure.is_none() {
                            // It would fail again: stop rather than start it over and over.
                            tracing::error!("a worker process ended ({how}) before claiming a run: stopping the sweep");
                            failure = Some(SweepError::WorkerFailed { how: how.to_string() });
                            stopping = true;
                            launcher.stop();
                        }
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
            _ = look.tick(), if !stopping && launcher.vacancies() > 0 => {}
        }
    }
    if let Some(failure) = failure {
        return Err(failure);
    }
    report.settle_paused(store).await?;
    report.account_for_the_rest(store, &configs).await?;
    progress.done();
    Ok(report)
}

/// Counts a run a worker is done with: `None` is a run taken over by another sweep.
fn ended(progress: &Progress, report: &mut SweepReport, lease: &Lease, status: Option<RunStatus>) {
    let run_id = lease.run_id.clone();
    match status {
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

/// How many of `configs` have ended for good (finished, failed or pruned), for the bar of a
/// synchronous search, where a rung's decision prunes runs that wait without a worker.
async fn done(store: &Store, configs: &[String]) -> Result<usize> {
    let mut done = 0;
    for hash in configs {
        let latest = store.latest_attempt(hash).await?;
        done += usize::from(latest.is_some_and(|a| {
            matches!(a.status, RunStatus::Finished | RunStatus::Failed | RunStatus::Pruned)
        }));
    }
    Ok(done)
}
