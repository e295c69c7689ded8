//! Command-line syntax.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use pixelcnn_config::{DeviceSpec, Sampler};

/// Run PixelCNN experiments on MNIST: train, evaluate, sample.
#[derive(Debug, Parser)]
#[command(name = "pixelcnn", version, about)]
pub struct Cli {
    /// Log format on stderr (`RUST_LOG` sets the level, default `info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// An experiment file and the layers over it.
#[derive(Debug, Clone, Args)]
pub struct ExperimentArgs {
    /// Experiment file (TOML), e.g. experiments/levels.toml.
    pub file: PathBuf,
    /// Named override set of the file, e.g. `quick`.
    #[arg(long)]
    pub profile: Option<String>,
    /// Override a key, e.g. `--set train.epochs=2` (repeatable; replaces a sweep axis).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

/// Where a sweep's runs train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LauncherKind {
    /// Worker processes on this machine, `--parallel` per device.
    Local,
    /// One Slurm job array; each task claims the next queued run from the shared database.
    Slurm,
}

/// Options of `sweep --launcher slurm`; each overrides the same key of `[launcher.slurm]`.
#[derive(Debug, Clone, Args)]
pub struct SlurmArgs {
    /// Slurm partition.
    #[arg(long, help_heading = "Slurm")]
    pub partition: Option<String>,
    /// Time limit of each task (sbatch --time, e.g. 2-00:00:00).
    #[arg(long, help_heading = "Slurm")]
    pub time: Option<String>,
    /// GPUs per task.
    #[arg(long, help_heading = "Slurm")]
    pub gpus_per_task: Option<u32>,
    /// CPUs per task.
    #[arg(long, help_heading = "Slurm")]
    pub cpus_per_task: Option<u32>,
    /// At most this many tasks at once (--array=0-N%P).
    #[arg(long, help_heading = "Slurm")]
    pub array_parallelism: Option<u32>,
    /// An extra sbatch option for the script, e.g. --sbatch=--account=vision (repeatable).
    #[arg(long = "sbatch", value_name = "OPTION", help_heading = "Slurm", allow_hyphen_values = true)]
    pub sbatch: Vec<String>,
    /// Accept an SQLite database (every task on this machine, the file on a local disk).
    #[arg(long, help_heading = "Slurm")]
    pub allow_sqlite: bool,
    /// Follow the runs in the database until every task has ended (default: return once submitted).
    #[arg(long, help_heading = "Slurm")]
    pub wait: bool,
}

impl SlurmArgs {
    /// The options given on the command line, as spelled there: they mean nothing to the local
    /// launcher, so a sweep refuses them rather than ignore them.
    pub fn given(&self) -> Vec<&'static str> {
        [
            ("--partition", self.partition.is_some()),
            ("--time", self.time.is_some()),
            ("--gpus-per-task", self.gpus_per_task.is_some()),
            ("--cpus-per-task", self.cpus_per_task.is_some()),
            ("--array-parallelism", self.array_parallelism.is_some()),
            ("--sbatch", !self.sbatch.is_empty()),
            ("--allow-sqlite", self.allow_sqlite),
            ("--wait", self.wait),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

/// Which runs to list or export.
#[derive(Debug, Clone, Args)]
pub struct RunSelection {
    /// Only runs of this experiment.
    #[arg(long)]
    pub experiment: Option<String>,
    /// Only runs whose configuration has this value, e.g. `--where model.levels=2` (repeatable).
    #[arg(long = "where", value_name = "KEY=VALUE")]
    pub filters: Vec<String>,
    /// Only runs with this status (queued, running, finished, failed, interrupted, pruned).
    #[arg(long)]
    pub status: Option<String>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the runs an experiment file resolves to, their size and an estimate of the time; runs nothing.
    ///
    /// Times come from what finished runs of the same model, batch, threads and device kind
    /// recorded in the database; else from `--probe`; else from the constants measured by
    /// `just bench` (docs/benchmarks.md).
    Plan {
        /// The experiment.
        #[command(flatten)]
        experiment: ExperimentArgs,
        /// Database whose finished runs give the speeds (default: $PIXELCNN_DB, else
        /// runs/pixelcnn.db; never created).
        #[arg(long)]
        db: Option<String>,
        /// Time a few training steps of each model not recorded yet (seconds per model).
        #[arg(long)]
        probe: bool,
    },
    /// Train every run of an experiment file that the store does not already hold.
    Sweep {
        /// The experiment.
        #[command(flatten)]
        experiment: ExperimentArgs,
        /// Database URL or file (default: $PIXELCNN_DB, else runs/pixelcnn.db).
        #[arg(long)]
        db: Option<String>,
        /// Folder for run outputs (checkpoints, samples).
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
        /// Runs at once per device (on a CPU one run uses every core by default).
        #[arg(long, default_value_t = 1)]
        parallel: usize,
        /// Start a new attempt for configurations whose last attempt failed.
        #[arg(long)]
        retry_failed: bool,
        /// Label the runs this sweep creates (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// A note on the sweep and its runs.
        #[arg(long)]
        note: Option<String>,
        /// Seconds without a heartbeat after which a `running` run (of any sweep on the database)
        /// is taken for interrupted and taken over; its old worker, should it wake up, is refused.
        #[arg(long, default_value_t = 60)]
        stale_after: u64,
        /// Seconds between two heartbeats of this sweep's workers (at most a third of the
        /// `--stale-after` that other sweeps on the database use).
        #[arg(long, default_value_t = 5.0)]
        heartbeat_every: f64,
        /// Folder of reports: the sweep ends by writing REPORTS_DIR/<experiment>/index.html.
        #[arg(long, default_value = "reports")]
        reports_dir: PathBuf,
        /// Do not write the report at the end.
        #[arg(long)]
        no_report: bool,
        /// Where the runs train: worker processes on this machine, or a Slurm job array.
        #[arg(long, value_enum, default_value_t = LauncherKind::Local)]
        launcher: LauncherKind,
        /// Slurm settings (over the experiment's `[launcher.slurm]`).
        #[command(flatten)]
        slurm: SlurmArgs,
    },
    /// Write an experiment's report: index.html (self-contained) and report.md with its figures.
    ///
    /// Reads only the database, so it also works while the experiment's sweep is still running
    /// (the report then says it is partial).
    Report {
        /// Experiment name, or its experiment file (the name is read from it).
        experiment: String,
        /// Database URL or file (default: $PIXELCNN_DB, else runs/pixelcnn.db).
        #[arg(long)]
        db: Option<String>,
        /// Output folder (default: reports/<experiment name>/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Repeat a stored run from its recorded configuration and check that its numbers come back.
    ///
    /// A new attempt of the same configuration (same config_hash, rerun_of = RUN) is trained in a
    /// worker process, then compared epoch by epoch (timing excluded): bitwise on CPU, within a
    /// tolerance on CUDA or with --allow-env-change. The verdict is stored (`show`, reports); the
    /// exit code is non-zero when the numbers differ.
    Rerun {
        /// The run (id or unique prefix).
        run: String,
        /// Repeat and compare only the first N epochs.
        #[arg(long)]
        epochs: Option<u32>,
        /// Device instead of the original's configuration (auto, cpu, cuda, cuda:N, flex).
        #[arg(long)]
        device: Option<DeviceSpec>,
        /// Threads instead of the original's.
        #[arg(long)]
        threads: Option<usize>,
        /// Rerun even on another backend, device kind or thread count (judged by tolerance).
        #[arg(long)]
        allow_env_change: bool,
        /// Database URL or file (default: $PIXELCNN_DB, else runs/pixelcnn.db).
        #[arg(long)]
        db: Option<String>,
        /// Folder for run outputs.
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
    },
    /// Export a run: config.toml (trainable with `train --config`), metrics.csv and its artefacts.
    Export {
        /// The run (id or unique prefix).
        run: String,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Database URL or file (default: $PIXELCNN_DB, else runs/pixelcnn.db).
        #[arg(long)]
        db: Option<String>,
    },
    /// Compare two runs (by id prefix): a table here and an HTML page.
    Compare {
        /// The baseline run.
        run_a: String,
        /// The run to compare with it.
        run_b: String,
        /// Database URL or file (default: $PIXELCNN_DB, else runs/pixelcnn.db).
        #[arg(long)]
        db: Option<String>,
        /// Output folder of the HTML page (default: reports/compare-<A>-<B>/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Claim runs from the store's queue and train them one after another (started by `sweep`,
    /// `rerun` or a Slurm task, not by hand).
    #[command(hide = true)]
    Worker {
        /// Database URL.
        #[arg(long)]
        db: String,
        /// Claim among the configurations (hashes, one per line) this file lists: what one sweep
        /// or Slurm submission queued.
        #[arg(long, required_unless_present = "run", conflicts_with = "run")]
        configs: Option<PathBuf>,
        /// Claim this one queued run (a rerun).
        #[arg(long)]
        run: Option<String>,
        /// Runs train in `<runs-dir>/<their experiment>/<run id>/`.
        #[arg(long)]
        runs_dir: PathBuf,
        /// Seconds without a heartbeat after which a running run is taken over.
        #[arg(long, default_value_t = 60)]
        stale_after: u64,
        /// Seconds between heartbeats.
        #[arg(long, default_value_t = 5.0)]
        heartbeat_every: f64,
        /// Device placement of this worker's slot.
        #[arg(long)]
        device: Option<DeviceSpec>,
        /// Threads of this worker's slot, for runs that leave `threads` at 0.
        #[arg(long)]
        threads: Option<usize>,
        /// Stop when stdin closes (the local sweep that started the worker went away).
        #[arg(long)]
        lifeline: bool,
    },
    /// List runs: id, status, swept values, last epoch, test bits/dim.
    Runs {
        /// Which runs.
        #[command(flatten)]
        selection: RunSelection,
        /// Database URL or file.
        #[arg(long)]
        db: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one run (by id prefix): configuration, environment, epochs, artefacts.
    Show {
        /// Run id or a unique prefix of it.
        run: String,
        /// Database URL or file.
        #[arg(long)]
        db: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export every epoch row of the selected runs as one tidy table (config keys as columns).
    Metrics {
        /// Which runs.
        #[command(flatten)]
        selection: RunSelection,
        /// Database URL or file.
        #[arg(long)]
        db: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = MetricsFormat::Csv)]
        format: MetricsFormat,
    },
    /// Delete checkpoint files that each run's own retention (`checkpoint.keep_last`, `keep_best`)
    /// does not keep, or whose runs were removed.
    Gc {
        /// Database URL or file.
        #[arg(long)]
        db: Option<String>,
        /// Only list what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Manage results databases as a whole.
    Store {
        /// What to do.
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Check the installation: versions, libtorch, CUDA, data checksums.
    Doctor {
        /// Data folder to check (default: the cache's `mnist/`).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Train one run from a configuration file (missing keys take the seed's values).
    Train {
        /// Run configuration (TOML).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Override a key, e.g. `--set train.epochs=2` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Output folder for checkpoints, samples and metrics.
        #[arg(long, default_value = "runs/train")]
        out: PathBuf,
        /// Continue from this checkpoint (its configuration, plus `--set`).
        #[arg(long, conflicts_with = "config")]
        resume: Option<PathBuf>,
    },
    /// Draw images from a checkpoint: a grid from scratch, or completions of occluded test images.
    ///
    /// A label-conditional model (`model.condition = "label"`) draws the class `--label` asks for,
    /// else one row per class.
    Sample {
        /// Checkpoint file.
        #[arg(long)]
        checkpoint: PathBuf,
        /// Images to draw from scratch.
        #[arg(long, default_value_t = 100)]
        n: usize,
        /// Complete the first 10 test images occluded from row 14 instead.
        #[arg(long)]
        complete: bool,
        /// Draw digits of this class (0-9; label-conditional models only). Without it a
        /// conditional model draws one row per class, and completes each test image given its
        /// own class.
        #[arg(long, value_name = "N")]
        label: Option<u8>,
        /// Seed of the draws (default: the run's seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Sampler: `cached` (fast, exact) or `naive` (the reference); default: the checkpoint's
        /// `sample.sampler`.
        #[arg(long)]
        sampler: Option<Sampler>,
        /// Device (default: the run's).
        #[arg(long)]
        device: Option<DeviceSpec>,
        /// Data folder for `--complete` (default: the run's).
        #[arg(long)]
        data: Option<PathBuf>,
        /// PNG file to write (default: next to the checkpoint).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Evaluate a checkpoint on the test set: NLL, bits/dim, nats/image.
    Eval {
        /// Checkpoint file.
        #[arg(long)]
        checkpoint: PathBuf,
        /// Data folder (default: the run's).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Device (default: the run's).
        #[arg(long)]
        device: Option<DeviceSpec>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Subcommands of `pixelcnn store`.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy every experiment, sweep, run, epoch, artefact and verdict of one database into an
    /// empty one, on either engine (e.g. a cluster's PostgreSQL results into an SQLite file), and
    /// check that the copy reads back identical.
    Copy {
        /// The database to read: a URL (sqlite://PATH, postgres://...) or an SQLite file.
        from: String,
        /// The database to fill (created and migrated when missing; must hold no experiment).
        to: String,
    },
}

/// Formats of `pixelcnn metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricsFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
}
