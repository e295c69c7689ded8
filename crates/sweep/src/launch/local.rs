//! The local launcher: one `pixelcnn worker` process per device slot of this machine, each
//! claiming runs from the store's queue as a Slurm task does (`claimer.rs`), so that a crash,
//! abort or out-of-memory ends only that process. A worker's stdin is its lifeline (closing it
//! stops the worker, which also happens when this process dies), and its stdout carries
//! [`WorkerEvent`] lines: progress for the bars, and which run it holds, so that the run of a
//! worker that died can be settled.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::ProgressBar;
use pixelcnn_record::RunStatus;
use pixelcnn_store::Lease;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::claimer::ClaimQueue;
use crate::error::Result;
use crate::events::WorkerEvent;
use crate::progress::{Progress, show};
use crate::slots::Slot;

/// What every worker's command line shares.
pub(crate) struct WorkerCommand {
    /// The `pixelcnn` binary.
    pub(crate) exe: PathBuf,
    /// Store URL.
    pub(crate) db: String,
    /// What the workers claim.
    pub(crate) queue: ClaimQueue,
    /// Where runs train: `<runs_dir>/<experiment>/<run id>/`.
    pub(crate) runs_dir: PathBuf,
    /// A `running` run whose heartbeat is older is taken over.
    pub(crate) stale_after: Duration,
    /// Time between two heartbeats of a worker.
    pub(crate) heartbeat_every: Duration,
}

/// What happened to the workers, in the order it happened.
pub(crate) enum Happened {
    /// A worker is done with a run: `status` is what the run recorded, `None` when it recorded
    /// nothing (its lease was lost, or the store failed): [`super::settle`] it.
    RunEnded { lease: Lease, status: Option<RunStatus> },
    /// A worker process is gone, holding `current` (a run it claimed and did not end: settle
    /// it); `claimed` says whether it ever claimed a run.
    Exited { current: Option<Lease>, claimed: bool, how: ExitStatus },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Run,
    Stop,
    Kill,
}

/// Local worker processes, at most one per slot.
pub(crate) struct LocalLauncher {
    command: WorkerCommand,
    slots: Vec<Slot>,
    /// Indices of free slots; the last is the next to take.
    free: Vec<usize>,
    progress: Progress,
    signal: watch::Sender<Signal>,
    ended: (mpsc::UnboundedSender<Happened>, mpsc::UnboundedReceiver<Happened>),
    active: JoinSet<(usize, Result<Happened>)>,
    /// Workers that hold a claimed run now.
    holding: Arc<AtomicUsize>,
}

impl LocalLauncher {
    pub(crate) fn new(command: WorkerCommand, slots: Vec<Slot>, progress: Progress) -> Self {
        let free = (0..slots.len()).rev().collect();
        let (signal, _) = watch::channel(Signal::Run);
        Self {
            command,
            slots,
            free,
            progress,
            signal,
            ended: mpsc::unbounded_channel(),
            active: JoinSet::new(),
            holding: Arc::default(),
        }
    }

    /// Slots without a worker.
    pub(crate) fn vacancies(&self) -> usize {
        self.free.len()
    }

    /// Workers running.
    pub(crate) fn running(&self) -> usize {
        self.active.len()
    }

    /// Workers running that hold no run: starting, or between two runs; each claims next.
    pub(crate) fn claiming(&self) -> usize {
        self.active.len().saturating_sub(self.holding.load(Ordering::SeqCst))
    }

    /// Starts a worker on a free slot; false when every slot has one.
    pub(crate) fn start(&mut self) -> bool {
        let Some(slot) = self.free.pop() else { return false };
        let job = WorkerJob {
            bar: self.progress.run_bar(),
            ended: self.ended.0.clone(),
            holding: self.holding.clone(),
        };
        let cmd = worker_command(&self.command, &self.slots[slot]);
        let signal = self.signal.subscribe();
        self.active.spawn(async move { (slot, job.run(cmd, signal).await) });
        true
    }

    /// The next thing that happened; `None` when no worker runs and nothing is left to tell.
    /// Cancel-safe: dropping the future loses nothing, so it can race Ctrl-C in a `select!`.
    pub(crate) async fn next(&mut self) -> Option<Result<Happened>> {
        // A worker tells of its run's end before it exits: read the channel first.
        if let Ok(happened) = self.ended.1.try_recv() {
            return Some(Ok(happened));
        }
        if self.active.is_empty() {
            return None;
        }
        tokio::select! {
            biased;
            Some(happened) = self.ended.1.recv() => Some(Ok(happened)),
            joined = self.active.join_next() => {
                let (slot, result) = joined?.expect("worker task");
                self.free.push(slot);
                Some(result)
            }
        }
    }

    /// Asks every worker to stop at its next step (its run records `interrupted`) and claim no
    /// more.
    pub(crate) fn stop(&mut self) {
        let _ = self.signal.send(Signal::Stop);
    }

    /// Ends every worker now (its run is settled as failed).
    pub(crate) fn kill(&mut self) {
        let _ = self.signal.send(Signal::Kill);
    }
}

fn worker_command(shared: &WorkerCommand, slot: &Slot) -> Command {
    let mut cmd = Command::new(&shared.exe);
    cmd.arg("worker").args(["--db", &shared.db]);
    match &shared.queue {
        ClaimQueue::Configs(list) => cmd.arg("--configs").arg(list),
        ClaimQueue::Run(id) => cmd.args(["--run", id]),
    };
    cmd.arg("--runs-dir")
        .arg(&shared.runs_dir)
        .args(["--stale-after", &shared.stale_after.as_secs().max(1).to_string()])
        .args(["--heartbeat-every", &shared.heartbeat_every.as_secs_f64().to_string()])
        .arg("--lifeline")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if let Some(device) = slot.device {
        cmd.args(["--device", &device.to_string()]);
    }
    if let Some(threads) = slot.threads {
        cmd.args(["--threads", &threads.to_string()]);
    }
    cmd
}

/// One worker process to start and watch.
struct WorkerJob {
    bar: ProgressBar,
    ended: mpsc::UnboundedSender<Happened>,
    holding: Arc<AtomicUsize>,
}

impl WorkerJob {
    async fn run(self, mut cmd: Command, mut signal: watch::Receiver<Signal>) -> Result<Happened> {
        let mut child = cmd.spawn()?;
        // Holding stdin open is the worker's lifeline: when it closes (we stop, or die), the
        // worker stops at its next step.
        let mut stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let mut current: Option<Lease> = None;
        let mut claimed = false;
        loop {
            tokio::select! {
                line = lines.next_line() => match line? {
                    Some(line) => match WorkerEvent::parse(&line) {
                        Some(WorkerEvent::Claimed { run_id, lease, from_epoch }) => {
                            claimed = true;
                            self.bar.reset();
                            self.bar.set_prefix(format!("{} e{from_epoch}", short(&run_id)));
                            if current.replace(Lease::new(&run_id, &lease)).is_none() {
                                self.holding.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        Some(WorkerEvent::Ended { status, .. }) => {
                            if let Some(lease) = current.take() {
                                self.holding.fetch_sub(1, Ordering::SeqCst);
                                let status = status.and_then(|s| s.parse().ok());
                                let _ = self.ended.send(Happened::RunEnded { lease, status });
                            }
                        }
                        Some(event) => {
                            let run = current.as_ref().map_or("-", |l| short(&l.run_id));
                            show(&self.bar, run, event);
                        }
                        None => {}
                    },
                    None => break,
                },
                changed = signal.changed() => {
                    if changed.is_err() { continue; }
                    match *signal.borrow() {
                        Signal::Stop => { stdin.take(); }
                        Signal::Kill => { let _ = child.start_kill(); }
                        Signal::Run => {}
                    }
                }
            }
        }
        let how = child.wait().await?;
        if current.is_some() {
            self.holding.fetch_sub(1, Ordering::SeqCst);
        }
        self.bar.finish_and_clear();
        Ok(Happened::Exited { current, claimed, how })
    }
}

fn short(run_id: &str) -> &str {
    &run_id[..8.min(run_id.len())]
}
