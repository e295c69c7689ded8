//! `pixelcnn rerun`: repeats a stored run from its recorded configuration, as a new attempt of the
//! same configuration (same `config_hash`, `rerun_of` = the original), in a worker process like a
//! sweep's, then compares the two epoch by epoch and stores the verdict.
//!
//! What counts as the same: on a CPU backend (libtorch CPU, flex) with the original's backend and
//! thread count, every metric must be bitwise identical: the seed fixes the initialisation, the
//! shuffles and the sampling streams, and the thread count fixes libtorch's reduction order. On
//! CUDA the numbers are compared within [`CUDA_TOLERANCE`]: cuDNN may pick other convolution
//! algorithms on another run or driver (benchmark mode is off, but tch exposes no switch for
//! PyTorch's deterministic-algorithms mode), some backward kernels accumulate with atomics in an
//! unspecified order, and TF32 matmuls round differently on different GPU generations. A rerun on
//! another backend, device kind or thread count is refused unless asked for, and then judged
//! within [`CHANGED_ENVIRONMENT_TOLERANCE`]: such runs are statistically equivalent, not equal.

use std::path::PathBuf;

use pixelcnn_config::{DeviceSpec, RunConfig};
use pixelcnn_record::{EpochMetrics, RunStatus};
use pixelcnn_store::{Difference, NewRun, RerunVerdict, Store, Verdict, Worker};

use crate::claimer::ClaimQueue;
use crate::error::{Result, SweepError};
use crate::git::GitState;
use crate::heartbeat::HEARTBEAT_EVERY;
use crate::launch::local::{Happened, LocalLauncher, WorkerCommand};
use crate::launch::settle;
use crate::progress::Progress;
use crate::register::new_attempt;
use crate::slots::Slot;
use crate::worker::host_name;

/// Nobody else claims a rerun (sweeps do not see reruns); a heartbeat older than this would only
/// matter to another `rerun` of the same run.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// Relative tolerance of a CUDA rerun on the original's device kind and threads.
pub const CUDA_TOLERANCE: f64 = 1e-3;

/// Relative tolerance of a rerun on another backend, device kind or thread count.
pub const CHANGED_ENVIRONMENT_TOLERANCE: f64 = 2e-2;

/// How to rerun.
#[derive(Debug, Clone)]
pub struct RerunOptions {
    /// Store URL.
    pub db_url: String,
    /// The run to repeat (id or unique prefix).
    pub run: String,
    /// Repeat only the first N epochs (default: every recorded epoch).
    pub epochs: Option<u32>,
    /// Device to use instead of the original's configuration.
    pub device: Option<DeviceSpec>,
    /// Thread count to use instead of the original's.
    pub threads: Option<usize>,
    /// Run even when backend, device kind, threads or torch version differ from the original's.
    pub allow_env_change: bool,
    /// Runs write into `<runs_dir>/<experiment>/<run id>/`.
    pub runs_dir: PathBuf,
    /// The `pixelcnn` binary that runs the worker.
    pub worker_exe: PathBuf,
    /// Versions of the tools and machine, recorded with the rerun.
    pub versions: serde_json::Value,
}

/// What a rerun did.
#[derive(Debug, Clone)]
pub struct RerunOutcome {
    /// The repeated run's id.
    pub original: String,
    /// The new attempt's id.
    pub run_id: String,
    /// How the new attempt ended.
    pub status: RunStatus,
    /// The comparison, when the new attempt finished.
    pub verdict: Option<RerunVerdict>,
}

fn relative(a: f64, b: f64) -> f64 {
    if a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()) {
        return 0.0;
    }
    let scale = a.abs().max(b.abs());
    if scale == 0.0 { 0.0 } else { (a - b).abs() / scale }
}

/// Compares the first `epochs` epochs of two runs. `tolerance`: `None` requires bitwise equality,
/// `Some(t)` accepts relative differences up to `t`. An epoch missing from either side differs.
pub fn compare_epochs(
    original: &[EpochMetrics],
    rerun: &[EpochMetrics],
    epochs: u32,
    tolerance: Option<f64>,
) -> (Verdict, Option<Difference>, f64) {
    let mut max_relative: f64 = 0.0;
    let mut first_beyond: Option<Difference> = None;
    let mut first_inexact: Option<Difference> = None;
    for epoch in 1..=epochs {
        let find = |rows: &[EpochMetrics]| rows.iter().find(|e| e.epoch == epoch).cloned();
        let (Some(a), Some(b)) = (find(original), find(rerun)) else {
            let missing =
                Difference { epoch, metric: "epoch missing".into(), original: f64::NAN, rerun: f64::NAN };
            return (Verdict::Differs, Some(missing), f64::INFINITY);
        };
        for ((metric, x), (_, y)) in a.deterministic_values().into_iter().zip(b.deterministic_values()) {
            let (x, y) = match (x, y) {
                (Some(x), Some(y)) => (x, y),
                (None, None) => continue,
                (x, y) => (x.unwrap_or(f64::NAN), y.unwrap_or(f64::NAN)),
            };
            let both_nan = x.is_nan() && y.is_nan();
            let r = if both_nan {
                0.0
            } else if x.is_nan() || y.is_nan() {
                f64::INFINITY
            } else {
                relative(x, y)
            };
            max_relative = max_relative.max(r);
            let difference = || Difference { epoch, metric: metric.into(), original: x, rerun: y };
            if !both_nan && x.to_bits() != y.to_bits() && first_inexact.is_none() {
                first_inexact = Some(difference());
            }
            if tolerance.is_some_and(|t| r > t) && first_beyond.is_none() {
                first_beyond = Some(difference());
            }
        }
    }
    match tolerance {
        _ if first_inexact.is_none() => (Verdict::Identical, None, max_relative),
        None => (Verdict::Differs, first_inexact, max_relative),
        Some(_) if first_beyond.is_some() => (Verdict::Differs, first_beyond, max_relative),
        Some(_) => (Verdict::WithinTolerance, first_inexact, max_relative),
    }
}

/// The device kind of a recorded device name: `libtorch-cpu`, `libtorch-cuda`, `flex`.
fn device_kind(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

/// The torch version recorded in a run's versions (`Versions::torch`), `none` without libtorch.
fn recorded_torch(versions: &serde_json::Value) -> String {
    versions.get("torch").and_then(|t| t.as_str()).unwrap_or("none").to_owned()
}

/// Repeats `options.run` and judges it. Refuses (before anything is written) a changed
/// environment without `allow_env_change`, and runs that have no epochs to compare.
pub async fn rerun(options: &RerunOptions) -> Result<RerunOutcome> {
    let store = Store::open_existing(&options.db_url).await?;
    // Closed on every path: a refusal must leave SQLite's -wal/-shm files as they were.
    let outcome = rerun_on(&store, options).await;
    store.close().await;
    outcome
}

async fn rerun_on(store: &Store, options: &RerunOptions) -> Result<RerunOutcome> {
    let original = store.run(&options.run).await?;
    let refuse = |message: String| SweepError::RerunRefused { run: original.id.clone(), message };
    let recorded = store.epochs(&original.id).await?;
    let last = recorded.last().map_or(0, |e| e.epoch);
    let epochs = options.epochs.unwrap_or(last);
    if epochs == 0 || epochs > last {
        return Err(refuse(format!("it has {last} recorded epochs; cannot compare {epochs}")));
    }
    let mut config: RunConfig = serde_json::from_value(original.run.config.clone())
        .map_err(|e| SweepError::StoredConfig { run: original.id.clone(), message: e.to_string() })?;
    config.train.epochs = epochs as usize;

    // The environment the rerun will have, resolved the way the worker will resolve it.
    let device = options.device.unwrap_or(config.device);
    let threads = options.threads.or(original.threads.map(|t| t as usize)).unwrap_or(config.threads);
    // The device and the data are checked before anything is written; their checksums are reused.
    let planned = RunConfig { device, ..config.clone() };
    let data_sums = crate::register::preflight(vec![planned]).await?;
    let selected = pixelcnn_train::device::select(device, threads)?;
    let mut changes = Vec::new();
    let original_device = original.device.clone().unwrap_or_else(|| "unknown".into());
    if device_kind(&original_device) != device_kind(&selected.info.name) {
        changes.push(format!("device {original_device} -> {}", selected.info.name));
    }
    if let Some(before) = original.threads
        && before as usize != selected.info.threads
    {
        changes.push(format!("threads {before} -> {}", selected.info.threads));
    }
    // Another libtorch (a user's own PyTorch, `just setup --torch-from`) may pick other kernels.
    let (torch_before, torch_now) =
        (recorded_torch(&original.run.versions), recorded_torch(&options.versions));
    if torch_before != torch_now {
        changes.push(format!("torch {torch_before} -> {torch_now}"));
    }
    if !changes.is_empty() && !options.allow_env_change {
        return Err(refuse(format!(
            "the environment differs from the original's ({}); bitwise identity is only expected on the \
             same backend, device kind, thread count and torch version. Pass --allow-env-change to rerun anyway and judge \
             it within a relative tolerance of {CHANGED_ENVIRONMENT_TOLERANCE}",
            changes.join(", ")
        )));
    }
    let cuda = device_kind(&selected.info.name).contains("cuda");
    let (tolerance, note) = if !changes.is_empty() {
        (Some(CHANGED_ENVIRONMENT_TOLERANCE), format!("environment changed: {}", changes.join(", ")))
    } else if cuda {
        (
            Some(CUDA_TOLERANCE),
            "CUDA: cuDNN algorithm choice, atomics and TF32 are not bitwise reproducible".into(),
        )
    } else {
        (None, String::new())
    };

    let checksums = data_sums[&pixelcnn_train::preflight::data_dir(&config)].clone();
    let new_run = NewRun {
        varying: original.run.varying.clone(),
        epochs_target: epochs,
        tags: vec!["rerun".into()],
        note: Some(format!("rerun of {}", original.id)),
        rerun_of: Some(original.id.clone()),
        ..new_attempt(
            &original.run.experiment_id,
            &config,
            original.run.config_hash.clone(),
            &options.versions,
            &GitState::current(),
            &checksums,
        )
    };
    // Queued for one worker, which claims it like a sweep's worker claims its runs.
    let run_id = store.create_run(&new_run).await?;
    tracing::info!("run {run_id}: rerun of {} ({epochs} epochs on {})", original.id, selected.info.name);
    let command = WorkerCommand {
        exe: options.worker_exe.clone(),
        db: options.db_url.clone(),
        queue: ClaimQueue::Run(run_id.clone()),
        runs_dir: options.runs_dir.clone(),
        stale_after: STALE_AFTER,
        heartbeat_every: HEARTBEAT_EVERY,
    };
    let slot = Slot { device: Some(device), threads: Some(selected.info.threads) };
    let status = train_rerun(store, command, slot, &run_id).await?;
    let mut verdict = None;
    if status == RunStatus::Finished {
        let rerun_epochs = store.epochs(&run_id).await?;
        let (outcome, first_difference, max_relative_difference) =
            compare_epochs(&recorded, &rerun_epochs, epochs, tolerance);
        let v = RerunVerdict {
            run_id: run_id.clone(),
            original_id: original.id.clone(),
            verdict: outcome,
            epochs_compared: epochs,
            first_difference,
            max_relative_difference,
            tolerance,
            environment_changed: !changes.is_empty(),
            environment_note: note,
            created_at: String::new(),
        };
        store.record_verdict(&v).await?;
        verdict = Some(v);
    }
    Ok(RerunOutcome { original: original.id, run_id, status, verdict })
}

/// Starts the worker that claims the queued rerun `run_id` and waits for it; returns how the run
/// ended. A worker that never claimed it (it could not start) leaves it failed with the reason.
async fn train_rerun(store: &Store, command: WorkerCommand, slot: Slot, run_id: &str) -> Result<RunStatus> {
    let progress = Progress::new(1);
    let mut launcher = LocalLauncher::new(command, vec![slot], progress.clone());
    let mut interrupts = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    launcher.start();
    let mut how = String::from("it did not start");
    loop {
        let happened = tokio::select! {
            happened = launcher.next() => happened,
            _ = interrupts.recv() => { launcher.stop(); continue; }
        };
        let Some(happened) = happened else { break };
        match happened? {
            Happened::RunEnded { lease, status: None } => {
                settle(store, &lease, "it recorded no end").await?;
            }
            Happened::RunEnded { .. } => {}
            Happened::Exited { current, how: exit, .. } => {
                how = exit.to_string();
                if let Some(lease) = current {
                    settle(store, &lease, &how).await?;
                }
            }
        }
    }
    progress.done();
    let status = store.run(run_id).await?.status;
    if status == RunStatus::Queued {
        // Claimed here only to record why it never ran.
        let worker = Worker { pid: std::process::id(), host: host_name(), device: None, threads: None };
        if let Some(lease) = store.claim(run_id, &worker).await? {
            let reason = format!("the rerun's worker process ended before claiming it ({how})");
            store.finish_run(&lease, RunStatus::Failed, Some(&reason)).await?;
            return Ok(RunStatus::Failed);
        }
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(epoch: u32, test_nll: f64) -> EpochMetrics {
        EpochMetrics {
            epoch,
            step: u64::from(epoch) * 4,
            train_nll: 0.5,
            validation_nll: None,
            test_nll,
            test_bits_per_dim: test_nll / std::f64::consts::LN_2,
            test_nats_per_image: test_nll * 784.0,
            lr: 1e-3,
            seconds: f64::from(epoch),
            images_per_second: 10.0,
        }
    }

    #[test]
    fn identical_ignores_timing() {
        let a = [row(1, 0.3), row(2, 0.2)];
        let mut b = a.clone();
        b[1].seconds = 99.0;
        b[0].images_per_second = 1.0;
        assert_eq!(compare_epochs(&a, &b, 2, None).0, Verdict::Identical);
        assert_eq!(compare_epochs(&a, &b, 2, Some(1e-3)).0, Verdict::Identical);
    }

    #[test]
    fn one_ulp_differs_where_identity_is_required() {
        let a = [row(1, 0.3), row(2, 0.2)];
        let mut b = a.clone();
        b[1].test_nll = f64::from_bits(0.2f64.to_bits() + 1);
        let (verdict, first, _) = compare_epochs(&a, &b, 2, None);
        assert_eq!(verdict, Verdict::Differs);
        let first = first.unwrap();
        assert_eq!((first.epoch, first.metric.as_str(), first.original), (2, "test_nll", 0.2));
        // Within a tolerance it is fine, and the first inexact value is still reported.
        let (verdict, first, max) = compare_epochs(&a, &b, 2, Some(1e-6));
        assert_eq!(verdict, Verdict::WithinTolerance);
        assert_eq!(first.unwrap().epoch, 2);
        assert!(max > 0.0 && max < 1e-15);
    }

    #[test]
    fn beyond_tolerance_and_missing_epochs_differ() {
        let a = [row(1, 0.3), row(2, 0.2)];
        let b = [row(1, 0.3), row(2, 0.21)];
        let (verdict, first, _) = compare_epochs(&a, &b, 2, Some(1e-3));
        assert_eq!(verdict, Verdict::Differs);
        assert_eq!(first.unwrap().metric, "test_nll");
        assert_eq!(compare_epochs(&a, &b[..1], 2, Some(1.0)).0, Verdict::Differs);
        // Only the epochs asked for are compared.
        assert_eq!(compare_epochs(&a, &b, 1, None).0, Verdict::Identical);
    }
}
