//! The sweep scheduler: claims configurations one at a time from the store (so that two sweeps on
//! one database share the work instead of repeating it), runs each in a `pixelcnn worker` process
//! on a device slot, shows progress, and handles Ctrl-C (first: workers stop and record
//! `interrupted`; second: workers are killed).

use std::collections::{HashMap, VecDeque};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use pixelcnn_config::{Experiment, PlannedRun};
use pixelcnn_data::mnist::{self, MnistFiles};
use pixelcnn_store::{
    Claim, ClaimRequest, Lease, NewRun, NewSweep, RunStatus, SkipReason, Store, StoreError, Worker,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::error::Result;
use crate::events::WorkerEvent;
use crate::git::GitState;
use crate::hash::config_hash;
use crate::worker::host_name;

/// How to run a sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Store URL.
    pub db_url: String,
    /// Runs write into `<runs_dir>/<experiment>/<run id>/`.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Run,
    Stop,
    Kill,
}

/// A place a worker can run: a device override and a thread count.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub(crate) device: Option<String>,
    pub(crate) threads: Option<usize>,
}

fn slots(parallel: usize) -> Vec<Slot> {
    let parallel = parallel.max(1);
    let cuda = pixelcnn_train::device::cuda_device_count();
    if cuda > 0 {
        return (0..cuda)
            .flat_map(|d| {
                (0..parallel).map(move |_| Slot { device: Some(format!("cuda:{d}")), threads: None })
            })
            .collect();
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = (cores / parallel).max(1);
    (0..parallel).map(|_| Slot { device: None, threads: Some(threads) }).collect()
}

/// Runs every planned run of `experiment` that the store says still needs training.
pub async fn run_sweep(experiment: &Experiment, options: &SweepOptions) -> Result<SweepReport> {
    // Every device and data folder is checked before the store is opened: an invalid request
    // writes nothing. The data checksums computed there give the runs their identity below.
    let checksums: HashMap<PathBuf, Vec<(String, String)>> =
        crate::preflight::check(experiment.runs.iter().map(|r| r.config.clone()).collect()).await?;
    let store = Store::open(&options.db_url).await?;
    for id in store.mark_stale_running_as_interrupted(options.stale_after).await? {
        tracing::warn!("run {id} was left running with a stale heartbeat: marked interrupted");
    }
    let experiment_id =
        store.record_experiment(&experiment.name, experiment.description.as_deref().unwrap_or("")).await?;
    let sweep_id = store
        .record_sweep(&NewSweep {
            experiment_id: experiment_id.clone(),
            file: experiment.file.display().to_string(),
            file_hash: experiment.file_hash.clone(),
            profile: experiment.profile.clone(),
            overrides: serde_json::json!(options.overrides),
            tag: options.tags.first().cloned(),
            note: options.note.clone(),
        })
        .await?;
    let git = GitState::current();
    let mut pending = VecDeque::new();
    for run in &experiment.runs {
        let dir = crate::preflight::data_dir(&run.config);
        let hash = config_hash(&run.config, &checksums[&dir]);
        pending.push_back(NewRun {
            experiment_id: experiment_id.clone(),
            sweep_id: Some(sweep_id.clone()),
            config_hash: hash,
            config: serde_json::to_value(&run.config).expect("config serialises"),
            config_toml: toml::to_string(&run.config).expect("config serialises"),
            varying: varying_json(run),
            epochs_target: u32::try_from(run.config.train.epochs).unwrap_or(u32::MAX),
            git_commit: git.commit.clone(),
            git_dirty: git.dirty,
            versions: provenance(&options.versions, &git, &checksums[&dir]),
            tags: options.tags.clone(),
            note: options.note.clone(),
            rerun_of: None,
        });
    }

    let slots = slots(options.parallel);
    let mut free: Vec<usize> = (0..slots.len()).rev().collect();
    let (signal_tx, signal_rx) = watch::channel(Signal::Run);
    let progress = Progress::new(pending.len());
    let mut active = JoinSet::new();
    let mut report = SweepReport::default();
    let mut stopping = false;
    // One listener for the whole sweep, so that no Ctrl-C is missed between two waits.
    let mut interrupts = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    loop {
        while !stopping && !free.is_empty() {
            let Some(run) = pending.pop_front() else { break };
            let slot = *free.last().expect("a free slot");
            let worker = Worker {
                pid: std::process::id(),
                host: host_name(),
                device: slots[slot].device.clone(),
                threads: slots[slot].threads.and_then(|t| u32::try_from(t).ok()),
            };
            let request = ClaimRequest {
                run,
                worker,
                retry_failed: options.retry_failed,
                stale_after: Some(options.stale_after),
            };
            match store.claim_config(&request).await? {
                Claim::Skipped { run_id, reason } => {
                    progress.skipped(&run_id, reason);
                    report.skipped.push((run_id, reason));
                }
                Claim::Claimed { run_id, lease, from_epoch, kind } => {
                    free.pop();
                    let out = options.runs_dir.join(safe_name(&experiment.name)).join(&run_id);
                    tracing::info!("run {run_id}: {kind:?} from epoch {from_epoch} in {}", out.display());
                    let job = WorkerJob {
                        exe: options.worker_exe.clone(),
                        db: options.db_url.clone(),
                        lease,
                        heartbeat_every: options.heartbeat_every,
                        out,
                        from_epoch,
                        slot: slots[slot].clone(),
                        bar: progress.run_bar(),
                    };
                    let rx = signal_rx.clone();
                    active.spawn(async move { (slot, job.run(rx).await) });
                }
            }
        }
        if active.is_empty() {
            break;
        }
        tokio::select! {
            joined = active.join_next() => {
                let (slot, result) = joined.expect("a worker is active").expect("worker task");
                free.push(slot);
                let (lease, exit) = result?;
                match settle(&store, &lease, exit).await? {
                    Some(status) => {
                        progress.finished(&lease.run_id, status);
                        report.trained.push((lease.run_id, status));
                    }
                    None => {
                        progress.taken_over(&lease.run_id);
                        report.taken_over.push(lease.run_id);
                    }
                }
            }
            _ = interrupts.recv() => {
                if stopping {
                    tracing::warn!("second Ctrl-C: killing workers");
                    let _ = signal_tx.send(Signal::Kill);
                } else {
                    tracing::warn!("Ctrl-C: stopping; running runs are marked interrupted and resume on the next sweep (Ctrl-C again to kill)");
                    stopping = true;
                    report.interrupted = true;
                    let _ = signal_tx.send(Signal::Stop);
                }
            }
        }
    }
    progress.done();
    store.close().await;
    Ok(report)
}

/// Makes sure a run whose worker is gone is not left `running` under this claim's lease: a
/// worker that died without recording its end (crash, kill, out of memory) leaves a failed run
/// with the reason. Returns the run's end status, or `None` when the run now belongs to another
/// claim (it was taken over: its status is the new owner's to set).
pub(crate) async fn settle(
    store: &Store,
    lease: &Lease,
    exit: std::process::ExitStatus,
) -> Result<Option<RunStatus>> {
    let detail = store.run(&lease.run_id).await?;
    if detail.status != RunStatus::Running {
        return Ok(Some(detail.status));
    }
    let reason = format!("worker process ended without recording a result ({exit})");
    match store.finish_run(lease, RunStatus::Failed, Some(&reason)).await {
        Ok(()) => Ok(Some(RunStatus::Failed)),
        Err(StoreError::LeaseLost { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// SHA-256 of each MNIST file in `dir`, by file name: part of `config_hash` and of a run's record.
pub fn data_checksums(dir: &Path) -> Result<Vec<(String, String)>> {
    let files = MnistFiles::locate(dir)?;
    files.all().into_iter().map(|(name, path)| Ok((name.to_owned(), mnist::content_sha256(path)?))).collect()
}

fn varying_json(run: &PlannedRun) -> serde_json::Value {
    serde_json::to_value(&run.varying).expect("TOML values convert to JSON")
}

/// What a run records besides its configuration: tool versions and machine, the hash of the
/// uncommitted diff, and the checksums of the data files it reads.
pub(crate) fn provenance(
    versions: &serde_json::Value,
    git: &GitState,
    data: &[(String, String)],
) -> serde_json::Value {
    let mut v = versions.clone();
    if let Some(map) = v.as_object_mut() {
        map.insert("git_diff_sha256".into(), serde_json::json!(git.diff_sha256));
        let sums: serde_json::Map<String, serde_json::Value> =
            data.iter().map(|(name, sum)| (name.clone(), serde_json::json!(sum))).collect();
        map.insert("data_sha256".into(), serde_json::Value::Object(sums));
    }
    v
}

/// A folder name that stays inside its parent whatever the experiment is called.
pub fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    if cleaned.trim_matches('_').is_empty() { "experiment".into() } else { cleaned }
}

/// One worker process to start and watch.
pub(crate) struct WorkerJob {
    pub(crate) exe: PathBuf,
    pub(crate) db: String,
    pub(crate) lease: Lease,
    pub(crate) heartbeat_every: Duration,
    pub(crate) out: PathBuf,
    pub(crate) from_epoch: u32,
    pub(crate) slot: Slot,
    pub(crate) bar: ProgressBar,
}

impl WorkerJob {
    pub(crate) async fn run(
        self,
        mut signal: watch::Receiver<Signal>,
    ) -> Result<(Lease, std::process::ExitStatus)> {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("worker")
            .args(["--db", &self.db, "--run-id", &self.lease.run_id, "--lease", &self.lease.token])
            .args(["--from-epoch", &self.from_epoch.to_string()])
            .args(["--heartbeat-every", &self.heartbeat_every.as_secs_f64().to_string()])
            .arg("--out")
            .arg(&self.out)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(device) = &self.slot.device {
            cmd.args(["--device", device]);
        }
        if let Some(threads) = self.slot.threads {
            cmd.args(["--threads", &threads.to_string()]);
        }
        let mut child = cmd.spawn()?;
        // Holding stdin open is the worker's lifeline: when it closes (we stop, or die), the
        // worker stops at its next step.
        let mut stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let short = &self.lease.run_id[..8.min(self.lease.run_id.len())];
        loop {
            tokio::select! {
                line = lines.next_line() => match line? {
                    Some(line) => show(&self.bar, short, &line),
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
        Ok((self.lease, status))
    }
}

fn show(bar: &ProgressBar, run: &str, line: &str) {
    let Some(event) = WorkerEvent::parse(line) else { return };
    match event {
        WorkerEvent::Started { device, first_epoch, steps_per_epoch } => {
            bar.set_length(steps_per_epoch as u64);
            bar.set_prefix(format!("{run} e{first_epoch}"));
            if bar.is_hidden() {
                tracing::info!("run {run}: training on {device} from epoch {first_epoch}");
            }
        }
        WorkerEvent::Step { epoch, step_in_epoch, steps_per_epoch, loss, images_per_second } => {
            bar.set_length(steps_per_epoch as u64);
            bar.set_prefix(format!("{run} e{epoch}"));
            bar.set_position(step_in_epoch as u64);
            bar.set_message(format!("loss {loss:.4} {images_per_second:.0} img/s"));
        }
        WorkerEvent::Epoch { epoch, test_bits_per_dim } => {
            bar.println(format!("run {run} epoch {epoch}: test {test_bits_per_dim:.4} bits/dim"));
            if bar.is_hidden() {
                tracing::info!("run {run} epoch {epoch}: test {test_bits_per_dim:.4} bits/dim");
            }
        }
    }
}

/// Sweep-level progress: a bar of runs done on a terminal, log lines otherwise.
pub(crate) struct Progress {
    multi: MultiProgress,
    sweep: ProgressBar,
    terminal: bool,
}

impl Progress {
    pub(crate) fn new(total: usize) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let multi = MultiProgress::new();
        if !terminal {
            multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let sweep = multi.add(ProgressBar::new(total as u64));
        sweep.set_style(
            ProgressStyle::with_template("sweep [{bar:30}] {pos}/{len} runs  elapsed {elapsed}  ETA {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Self { multi, sweep, terminal }
    }

    pub(crate) fn run_bar(&self) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(1));
        if !self.terminal {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        bar.set_style(
            ProgressStyle::with_template("  {prefix} [{bar:25}] {pos}/{len} {msg} ETA {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar
    }

    fn skipped(&self, run_id: &str, reason: SkipReason) {
        self.sweep.inc(1);
        tracing::info!("run {run_id}: nothing to do ({reason:?})");
    }

    fn finished(&self, run_id: &str, status: RunStatus) {
        self.sweep.inc(1);
        tracing::info!("run {run_id}: {}", status.as_str());
    }

    fn taken_over(&self, run_id: &str) {
        self.sweep.inc(1);
        tracing::warn!(
            "run {run_id}: taken over by another sweep (this sweep's worker was frozen past its stale \
             limit); it goes on there"
        );
    }

    pub(crate) fn done(&self) {
        self.sweep.finish_and_clear();
    }
}
