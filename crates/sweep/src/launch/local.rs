//! The local launcher: each run in its own `pixelcnn worker` child process on a device slot of this
//! machine, so that a crash, abort or out-of-memory ends only that run. The child's stdin is its
//! lifeline (closing it stops the worker, which also happens when this process dies), and its
//! stdout carries [`WorkerEvent`] lines for the progress bars.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use indicatif::ProgressBar;
use pixelcnn_store::Lease;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{ClaimedRun, Ended, Launcher};
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
    /// Time between two heartbeats of a worker.
    pub(crate) heartbeat_every: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Run,
    Stop,
    Kill,
}

/// Local worker processes, one per busy slot.
pub(crate) struct LocalLauncher {
    command: WorkerCommand,
    slots: Vec<Slot>,
    /// Indices of free slots; the last is the vacancy.
    free: Vec<usize>,
    progress: Progress,
    signal: watch::Sender<Signal>,
    active: JoinSet<(usize, Result<(Lease, std::process::ExitStatus)>)>,
}

impl LocalLauncher {
    pub(crate) fn new(command: WorkerCommand, slots: Vec<Slot>, progress: Progress) -> Self {
        let free = (0..slots.len()).rev().collect();
        let (signal, _) = watch::channel(Signal::Run);
        Self { command, slots, free, progress, signal, active: JoinSet::new() }
    }
}

impl Launcher for LocalLauncher {
    fn vacancy(&self) -> Option<&Slot> {
        self.free.last().map(|&i| &self.slots[i])
    }

    fn launch(&mut self, run: ClaimedRun) {
        let slot = self.free.pop().expect("launch needs a vacancy");
        let job = WorkerJob { run, slot: self.slots[slot].clone(), bar: self.progress.run_bar() };
        let cmd = job.command(&self.command);
        let signal = self.signal.subscribe();
        self.active.spawn(async move { (slot, job.run(cmd, signal).await) });
    }

    async fn next_exit(&mut self) -> Option<Result<Ended>> {
        let (slot, result) = self.active.join_next().await?.expect("worker task");
        self.free.push(slot);
        Some(result.map(|(lease, status)| Ended { lease, how: status.to_string() }))
    }

    fn stop(&mut self) {
        let _ = self.signal.send(Signal::Stop);
    }

    fn kill(&mut self) {
        let _ = self.signal.send(Signal::Kill);
    }
}

/// One worker process to start and watch.
struct WorkerJob {
    run: ClaimedRun,
    slot: Slot,
    bar: ProgressBar,
}

impl WorkerJob {
    fn command(&self, shared: &WorkerCommand) -> Command {
        let lease = &self.run.lease;
        let mut cmd = Command::new(&shared.exe);
        cmd.arg("worker")
            .args(["--db", &shared.db, "--run-id", &lease.run_id, "--lease", &lease.token])
            .args(["--from-epoch", &self.run.from_epoch.to_string()])
            .args(["--heartbeat-every", &shared.heartbeat_every.as_secs_f64().to_string()])
            .arg("--out")
            .arg(&self.run.out)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(device) = self.slot.device {
            cmd.args(["--device", &device.to_string()]);
        }
        if let Some(threads) = self.slot.threads {
            cmd.args(["--threads", &threads.to_string()]);
        }
        cmd
    }

    async fn run(
        self,
        mut cmd: Command,
        mut signal: watch::Receiver<Signal>,
    ) -> Result<(Lease, std::process::ExitStatus)> {
        let mut child = cmd.spawn()?;
        // Holding stdin open is the worker's lifeline: when it closes (we stop, or die), the
        // worker stops at its next step.
        let mut stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let run_id = &self.run.lease.run_id;
        let short = &run_id[..8.min(run_id.len())];
        loop {
            tokio::select! {
                line = lines.next_line() => match line? {
                    Some(line) => if let Some(event) = WorkerEvent::parse(&line) {
                        show(&self.bar, short, event);
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
        let status = child.wait().await?;
        self.bar.finish_and_clear();
        Ok((self.run.lease, status))
    }
}
