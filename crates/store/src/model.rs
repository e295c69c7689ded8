//! The plain data the store takes and gives back. Nothing here knows burn or the training code:
//! configurations arrive as JSON values and TOML text; epoch metrics, artefact kinds and
//! retention are `pixelcnn_record`'s, shared with training and the report.

use crate::select::Predicate;
use std::fmt;

use pixelcnn_record::{ArtefactKind, EpochMetrics, RunStatus};
use serde::Serialize;
use serde_json::Value;

/// An experiment as listed by [`crate::Store::experiments`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Experiment {
    /// Its id (a UUID).
    pub id: String,
    /// Its unique name, from the experiment file.
    pub name: String,
    /// Its description, from the experiment file that last recorded it.
    pub description: String,
    /// When it was first recorded.
    pub created_at: String,
    /// How many attempts it holds.
    pub runs: u64,
}

/// One sweep invocation to record.
#[derive(Clone, Debug, PartialEq)]
pub struct NewSweep {
    /// The experiment it belongs to.
    pub experiment_id: String,
    /// The experiment file, as given.
    pub file: String,
    /// SHA-256 (or another stable hash) of the file's bytes, to see that it changed between sweeps.
    pub file_hash: String,
    /// The selected profile.
    pub profile: Option<String>,
    /// The `--set` overrides and environment layers, as given.
    pub overrides: Value,
    /// `--tag`.
    pub tag: Option<String>,
    /// `--note`.
    pub note: Option<String>,
}

/// A recorded sweep invocation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sweep {
    /// Its id (a UUID).
    pub id: String,
    /// The experiment it belongs to.
    pub experiment_id: String,
    /// The experiment file, as given.
    pub file: String,
    /// The file's hash.
    pub file_hash: String,
    /// The selected profile.
    pub profile: Option<String>,
    /// The overrides, as given.
    pub overrides: Value,
    /// `--tag`.
    pub tag: Option<String>,
    /// `--note`.
    pub note: Option<String>,
    /// When it was invoked.
    pub created_at: String,
}

/// A new execution attempt of one configuration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewRun {
    /// The experiment it belongs to.
    pub experiment_id: String,
    /// The sweep that created it, if any.
    pub sweep_id: Option<String>,
    /// Stable hash of everything that changes the numbers (computed by the config crate).
    pub config_hash: String,
    /// The resolved configuration.
    pub config: Value,
    /// The resolved configuration as TOML, ready to rerun by hand.
    pub config_toml: String,
    /// The swept keys' values for this run, e.g. `{"model.levels": 2, "seed": 42}`.
    pub varying: Value,
    /// Epochs to train in total.
    pub epochs_target: u32,
    /// Commit of the binary that runs it.
    pub git_commit: Option<String>,
    /// Whether that working tree had uncommitted changes.
    pub git_dirty: Option<bool>,
    /// Versions of burn, tch, torch, rustc, ..., the machine, and the hashes of the git diff and
    /// the data.
    pub versions: Value,
    /// Labels (from `sweep --tag`).
    pub tags: Vec<String>,
    /// Free text (from `sweep --note`).
    pub note: Option<String>,
    /// The attempt this one repeats, if any.
    pub rerun_of: Option<String>,
}

/// Who executes an attempt and where; recorded at each claim, because a resumed attempt may run
/// elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Worker {
    /// Process id of the worker (or of the scheduler until the worker reports itself).
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// The device it trains on (`cpu`, `cuda:0`, `flex`, ...).
    pub device: Option<String>,
    /// CPU threads it uses.
    pub threads: Option<u32>,
}

/// Where an artefact's bytes live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArtefactContent {
    /// In the database (PNG pictures: small, and they travel with the database).
    Blob(Vec<u8>),
    /// In a file (checkpoints: large), with its SHA-256 so that a resume can verify it.
    File {
        /// Path of the file, as the worker wrote it.
        path: String,
        /// Hex SHA-256 of the file.
        sha256: String,
        /// Size in bytes, if known.
        size_bytes: Option<u64>,
    },
}

/// An artefact to record with an epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewArtefact {
    /// What it shows.
    pub kind: ArtefactKind,
    /// Its name within the run and epoch (`samples.png`, `epoch-0003.ckpt`); recording the same
    /// run, epoch, kind and name again replaces it.
    pub name: String,
    /// Media type (`image/png`, `application/octet-stream`).
    pub media_type: String,
    /// The bytes or the file.
    pub content: ArtefactContent,
}

/// A recorded artefact, without its bytes (see [`crate::Store::artefact_data`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Artefact {
    /// Its id (a UUID).
    pub id: String,
    /// The run it belongs to (which may have been removed since).
    pub run_id: String,
    /// The epoch it was made after.
    pub epoch: u32,
    /// What it shows.
    pub kind: ArtefactKind,
    /// Its name within the run and epoch.
    pub name: String,
    /// Media type.
    pub media_type: String,
    /// Whether its bytes are in the database.
    pub has_data: bool,
    /// Its file, for file artefacts.
    pub path: Option<String>,
    /// Hex SHA-256 of the file.
    pub sha256: Option<String>,
    /// Size in bytes (of the blob or the file).
    pub size_bytes: Option<u64>,
    /// When it was recorded.
    pub created_at: String,
    /// When its file was deleted (by retention or `gc`).
    pub deleted_at: Option<String>,
}

/// The latest attempt of a configuration, as [`crate::Store::latest_attempt`] reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attempt {
    /// The attempt's run id.
    pub run_id: String,
    /// Its status.
    pub status: RunStatus,
    /// Epochs it was asked to train.
    pub epochs_target: u32,
    /// Its last completed epoch (0 when none).
    pub last_epoch: u32,
    /// Its last heartbeat.
    pub heartbeat_at: Option<String>,
    /// When it was created.
    pub created_at: String,
}

/// Which runs to list or export. Empty means every run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunFilter {
    /// Only runs of this experiment (by name).
    pub experiment: Option<String>,
    /// Only runs with this status.
    pub status: Option<RunStatus>,
    /// Only runs labelled with this tag.
    pub tag: Option<String>,
    /// Only runs that pass every one of these (`--where`; see [`RunDetail::value`] for the keys).
    pub predicates: Vec<Predicate>,
}

/// The Slurm task a run's worker ran in: recorded by the worker from Slurm's environment, shown by
/// `runs` and `show` so that a user can find its log or `scancel` it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlurmTask {
    /// The task's own job id (`SLURM_JOB_ID`).
    pub job_id: String,
    /// The array's job id (`SLURM_ARRAY_JOB_ID`), when the task belongs to an array.
    pub array_job_id: Option<String>,
    /// Its index in the array (`SLURM_ARRAY_TASK_ID`).
    pub array_task_id: Option<u32>,
}

impl fmt::Display for SlurmTask {
    /// `ARRAY_TASK` as Slurm shows array tasks (`1234_5`), else the job id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.array_job_id, self.array_task_id) {
            (Some(array), Some(task)) => write!(f, "{array}_{task}"),
            _ => f.write_str(&self.job_id),
        }
    }
}

/// Everything recorded about one attempt: what it was asked to be (the [`NewRun`] that created it)
/// and where it stands. A line of `pixelcnn runs` and the page of `pixelcnn show`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunDetail {
    /// The attempt's id.
    pub id: String,
    /// What it was created as: experiment, configuration, provenance, labels.
    #[serde(flatten)]
    pub run: NewRun,
    /// Its experiment's name.
    pub experiment: String,
    /// Its status.
    pub status: RunStatus,
    /// Last completed epoch, if any.
    pub last_epoch: Option<u32>,
    /// Test bits/dim of the last completed epoch.
    pub last_test_bits_per_dim: Option<f64>,
    /// Device of the last claim.
    pub device: Option<String>,
    /// Threads of the last claim.
    pub threads: Option<u32>,
    /// When it was created.
    pub created_at: String,
    /// When it first started.
    pub started_at: Option<String>,
    /// When it last ended.
    pub ended_at: Option<String>,
    /// Its last heartbeat.
    pub heartbeat_at: Option<String>,
    /// Worker process id of the last claim.
    pub worker_pid: Option<u32>,
    /// Worker host of the last claim.
    pub worker_host: Option<String>,
    /// The Slurm task of its latest worker, when a job array trains it.
    pub slurm: Option<SlurmTask>,
    /// Why it failed or was interrupted.
    pub error: Option<String>,
}

/// One epoch of one run with the run's configuration: a row of `pixelcnn metrics`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricRow {
    /// The attempt's id.
    pub run_id: String,
    /// Its experiment's name.
    pub experiment: String,
    /// Its status.
    pub status: RunStatus,
    /// Its configuration hash.
    pub config_hash: String,
    /// The resolved configuration (flatten it into columns).
    pub config: Value,
    /// The swept keys' values.
    pub varying: Value,
    /// The epoch's metrics.
    pub metrics: EpochMetrics,
}

/// What a runs table shows of a run's epochs, aggregated by the database
/// ([`crate::Store::run_summaries`]). Diverged values are stored as NULL and read as `None`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunSummary {
    /// The lowest test bits/dim over its epochs.
    pub best_test_bits_per_dim: Option<f64>,
    /// Its last epoch's validation NLL.
    pub last_validation_nll: Option<f64>,
    /// Its last epoch's training speed.
    pub last_images_per_second: Option<f64>,
}
