//! Training one claimed run inside a worker process (`claimer.rs` claims it), so that a crash,
//! abort or out-of-memory ends only that process. It writes to the run only under the lease its
//! claim handed out: every epoch in one transaction that checks the lease, heartbeats from a
//! timer of its own (`heartbeat.rs`). It stops (status `interrupted`) on Ctrl-C, SIGTERM, SIGUSR2
//! (Slurm's warning before the time limit) or, under a local sweep, when the sweep goes away (its
//! stdin reaches end-of-file, which also happens after `kill -9` of the sweep), and stops without
//! writing anything more when the lease is gone (another worker took the run over). In an
//! adaptive search it asks the store at each rung whether to go on (`rungs.rs`); a run stopped
//! there ends `pruned`, one that waits there for a synchronous rung's decision ends `paused`.

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use pixelcnn_config::{DeviceSpec, RunConfig};
use pixelcnn_record::{EpochMetrics, RunStatus};
use pixelcnn_store::{Lease, Store, StoreError};
use pixelcnn_train::checkpoint::resume_point;
use pixelcnn_train::{Artefact, RunObserver, RunStart, StepProgress, TrainError, Trainer};
use tokio::runtime::Runtime;

use crate::error::{Result, SweepError};
use crate::events::{WorkerEvent, emit};
use crate::heartbeat::{Flags, Heartbeat};
use crate::recorder::StoreRecorder;
use crate::rungs::{AtRung, Rungs, release_waiting_rungs};

const STEP_EVENT_EVERY: Duration = Duration::from_millis(250);

/// A claimed run to train.
#[derive(Debug, Clone)]
pub(crate) struct Assignment {
    /// Store URL.
    pub(crate) db: String,
    /// The claim's lease: the worker writes to the run only while it is current.
    pub(crate) lease: Lease,
    /// Time between heartbeats.
    pub(crate) heartbeat_every: Duration,
    /// Output folder of the run (checkpoints, samples).
    pub(crate) out: PathBuf,
    /// Last completed epoch: resume from its checkpoint (0: fresh).
    pub(crate) from_epoch: u32,
    /// The device slot's placement (overrides `device = "auto"`).
    pub(crate) device: Option<DeviceSpec>,
    /// Threads for a configuration whose `threads` is 0 (auto).
    pub(crate) threads: Option<usize>,
}

/// Trains the run and records its end state. Returns the final status, or
/// [`SweepError::LeaseLost`] when the run was taken over by another worker (nothing of this
/// worker's is then written after the takeover).
pub(crate) fn work(args: &Assignment, flags: &Flags) -> Result<RunStatus> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let store = rt.block_on(Store::open(&args.db))?;
    let lease = &args.lease;
    let heartbeat = Heartbeat::start(&args.db, lease.clone(), args.heartbeat_every, flags.clone())?;
    let outcome = train(&rt, &store, args, flags);
    drop(heartbeat);
    // The rung ended the run's lease in the same transaction as its decision or its pause.
    let at_rung = match &outcome {
        Ok(Trained::Pruned) => Some(RunStatus::Pruned),
        Ok(Trained::Paused) => Some(RunStatus::Paused),
        _ => None,
    };
    if let Some(status) = at_rung {
        rt.block_on(store.close());
        return Ok(status);
    }
    let lost = || SweepError::LeaseLost { run: lease.run_id.clone() };
    if flags.is_lost() || matches!(outcome, Err(SweepError::Store(StoreError::LeaseLost { .. }))) {
        return Err(lost());
    }
    let (status, error) = end_state(&outcome);
    match rt.block_on(store.finish_run(lease, status, error.as_deref())) {
        Err(StoreError::LeaseLost { .. }) => return Err(lost()),
        other => other?,
    }
    if status == RunStatus::Failed {
        rt.block_on(release_waiting_rungs(&store, &lease.run_id))?;
    }
    rt.block_on(store.close());
    Ok(status)
}

/// The status a run ends with after training returned `outcome`, and the error it records.
pub(crate) fn end_state<T>(outcome: &Result<T>) -> (RunStatus, Option<String>) {
    match outcome {
        Ok(_) => (RunStatus::Finished, None),
        Err(SweepError::Train(TrainError::Stopped(_))) => (RunStatus::Interrupted, None),
        Err(e) => (RunStatus::Failed, Some(e.to_string())),
    }
}

/// How a worker's training ended without an error.
enum Trained {
    /// Every epoch asked for.
    Complete,
    /// Stopped at a rung of its search.
    Pruned,
    /// Waiting at a rung of its synchronous search.
    Paused,
}

fn train(rt: &Runtime, store: &Store, args: &Assignment, flags: &Flags) -> Result<Trained> {
    let lease = &args.lease;
    let run_id = &lease.run_id;
    let detail = rt.block_on(store.run(run_id))?;
    let rungs = rt.block_on(Rungs::of(store, run_id))?;
    if let Some(rungs) = &rungs {
        match rt.block_on(rungs.catch_up(store, lease, args.from_epoch))? {
            AtRung::GoOn => {}
            AtRung::Pruned(_) => return Ok(Trained::Pruned),
            AtRung::Paused => return Ok(Trained::Paused),
        }
    }
    let mut config: RunConfig = serde_json::from_value(detail.run.config)
        .map_err(|e| SweepError::StoredConfig { run: run_id.clone(), message: e.to_string() })?;
    config.train.epochs = detail.run.epochs_target as usize;
    if let Some(device) = args.device {
        config.device = device;
    }
    // The launcher's share of the cores (a local slot, a Slurm task's CPUs) applies to runs that
    // leave `threads` at 0; a thread count the configuration sets is kept.
    if config.threads == 0
        && let Some(threads) = args.threads
    {
        config.threads = threads;
    }
    // A run stopped within an epoch goes on from its step checkpoint, else from its last epoch's.
    let trainer = match resume_point(&args.out.join("checkpoints"), args.from_epoch) {
        Some(ckpt) => {
            tracing::info!("run {run_id}: resuming from {}", ckpt.display());
            Trainer::resume(&ckpt, config, &args.out)?
        }
        None => Trainer::new(config, &args.out)?,
    };
    let mut observer = StoreObserver {
        recorder: StoreRecorder { rt, store, lease, flags: flags.clone() },
        last_event: Instant::now(),
        rungs: rungs.as_ref(),
        at_rung: AtRung::GoOn,
    };
    trainer.run(&mut observer)?;
    Ok(match observer.at_rung {
        AtRung::GoOn => Trained::Complete,
        AtRung::Pruned(_) => Trained::Pruned,
        AtRung::Paused => Trained::Paused,
    })
}

/// Flags whose `stop` is raised by Ctrl-C, SIGTERM, SIGUSR2 (which also raises `requeue`), or,
/// with `lifeline`, the end of stdin (the scheduler is gone).
pub(crate) fn stop_flags(lifeline: bool) -> std::io::Result<Flags> {
    use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR2};
    let flags = Flags::default();
    for signal in [SIGINT, SIGTERM, SIGUSR2] {
        signal_hook::flag::register(signal, flags.stop.clone())?;
    }
    signal_hook::flag::register(SIGUSR2, flags.requeue.clone())?;
    if lifeline {
        let on_eof = flags.stop.clone();
        std::thread::spawn(move || {
            let mut sink = [0u8; 64];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            on_eof.store(true, Ordering::SeqCst);
        });
    }
    Ok(flags)
}

struct StoreObserver<'a> {
    /// What goes into the store.
    recorder: StoreRecorder<'a>,
    last_event: Instant,
    /// The run's search, when it takes part in one.
    rungs: Option<&'a Rungs>,
    /// What the last rung said: anything but `GoOn` ends the run's training here.
    at_rung: AtRung,
}

impl RunObserver for StoreObserver<'_> {
    fn started(&mut self, s: &RunStart) {
        self.recorder.started(s);
        emit(&WorkerEvent::Started {
            device: s.device.name.clone(),
            first_epoch: s.first_epoch,
            steps_per_epoch: s.steps_per_epoch,
        });
    }

    fn step(&mut self, p: &StepProgress) {
        if self.last_event.elapsed() >= STEP_EVENT_EVERY || p.step_in_epoch == p.steps_per_epoch {
            self.last_event = Instant::now();
            emit(&WorkerEvent::Step {
                epoch: p.epoch,
                step_in_epoch: p.step_in_epoch,
                steps_per_epoch: p.steps_per_epoch,
                loss: p.loss,
                images_per_second: p.images_per_second,
            });
        }
    }

    fn epoch(&mut self, m: &EpochMetrics, artefacts: &[Artefact]) -> std::result::Result<(), String> {
        self.recorder.epoch(m, artefacts)?;
        emit(&WorkerEvent::Epoch { epoch: m.epoch, test_bits_per_dim: m.test_bits_per_dim });
        if let Some(rungs) = self.rungs {
            let r = &self.recorder;
            let decided = r.rt.block_on(rungs.at_epoch(r.store, r.lease, m.epoch));
            self.at_rung = match decided {
                Ok(said) => said,
                Err(SweepError::Store(e)) => return Err(self.recorder.stopping(e)),
                Err(e) => return Err(e.to_string()),
            };
        }
        Ok(())
    }

    fn pruned(&mut self, paths: &[PathBuf]) {
        self.recorder.pruned(paths);
    }

    fn may_write(&mut self) -> std::result::Result<(), String> {
        self.recorder.may_write()
    }

    fn stop_requested(&self) -> bool {
        self.recorder.stop_requested()
    }

    fn ended_early(&self) -> bool {
        self.at_rung != AtRung::GoOn
    }
}

/// This machine's name, for run records.
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}
