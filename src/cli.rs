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

/// `--db`: the results database, declared once for every command that reads or writes one.
#[derive(Debug, Clone, Args)]
pub struct DbArg {
    /// Database URL or SQLite file (default: $PIXELCNN_DB, else runs/pixelcnn.db). Commands that
    /// only read never create it.
    #[arg(long = "db", value_name = "URL")]
    pub url: Option<String>,
}

impl DbArg {
    /// The URL or file given, if any.
    pub fn given(&self) -> Option<&str> {
        self.url.as_deref()
    }
}

/// Which runs to list or export.
#[derive(Debug, Clone, Args)]
pub struct RunSelection {
    /// Only runs of this experiment.
    #[arg(long)]
    pub experiment: Option<String>,
    /// Only runs that pass this comparison (repeatable): `model.levels=256`,
    /// `test_bits_per_dim<0.15`, `status!=failed` (operators `= != < <= > >=`). A key is a run
    /// field (id, experiment, status, epoch, test_bits_per_dim, created_at, device, tags, note),
    /// a swept value, or a dotted key of the configuration.
    #[arg(long = "where", value_name = "KEY OP VALUE")]
    pub filters: Vec<String>,
    /// Only runs with this status (queued, running, finished, failed, interrupted, pruned, paused).
    #[arg(long)]
    pub status: Option<String>,
    /// Only runs labelled with this tag.
    #[arg(long)]
    pub tag: Option<String>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the runs an experiment file resolves to, their size and an estimate of the time; runs nothing.
    ///
    /// Times come from what finished runs of the same model, batch, threads and device kind
    /// recorded in the database; else from `--probe`; else from the constants measured by
    /// `just bench` (docs/benchmarks.md).
    Plan(PlanArgs),
    /// Train every run of an experiment file that the store does not already hold.
    Sweep(SweepArgs),
    /// Write an experiment's report: index.html (self-contained) and report.md with its figures.
    ///
    /// Reads only the database, so it also works while the experiment's sweep is still running
    /// (the report then says it is partial).
    Report(ReportArgs),
    /// Serve a live, read-only view of the store in the browser: experiments, runs table, curves,
    /// pictures, comparisons, updated while sweeps write.
    ///
    /// Loopback by default; bound to another address every request needs the access token
    /// (--token, else one is generated and printed).
    Serve(ServeArgs),
    /// Repeat a stored run from its recorded configuration and check that its numbers come back.
    ///
    /// A new attempt of the same configuration (same config_hash, rerun_of = RUN) is trained in a
    /// worker process, then compared epoch by epoch (timing excluded): bitwise on CPU, within a
    /// tolerance on CUDA or with --allow-env-change. The verdict is stored (`show`, reports); the
    /// exit code is non-zero when the numbers differ.
    Rerun(RerunArgs),
    /// Export a run: config.toml (trainable with `train --config`), metrics.csv and its artefacts.
    Export(ExportArgs),
    /// Compare two or more runs (by id prefix), the first the baseline: a table here and an HTML page.
    Compare(CompareArgs),
    /// Claim runs from the store's queue and train them one after another (started by `sweep`,
    /// `rerun` or a Slurm task, not by hand).
    #[command(hide = true)]
    Worker(WorkerArgs),
    /// List runs: id, status, swept values, last epoch, test bits/dim.
    Runs(RunsArgs),
    /// Show one run (by id prefix): configuration, environment, epochs, artefacts.
    Show(ShowArgs),
    /// Add or remove a run's tags: `pixelcnn tag RUN +best -draft`.
    Tag(TagArgs),
    /// Set a run's note: `pixelcnn note RUN "lr too high"` (`""` clears it).
    Note(NoteArgs),
    /// Delete runs (or a whole experiment): their rows, pictures, checkpoints and run folders.
    ///
    /// Refuses a run that is training under a live lease. Asks before deleting on a terminal;
    /// elsewhere needs --yes. --dry-run lists what would go.
    Rm(RmArgs),
    /// Export every epoch row of the selected runs as one tidy table (config keys as columns).
    Metrics(MetricsArgs),
    /// Delete checkpoint files that each run's own retention (`checkpoint.keep_last`, `keep_best`)
    /// does not keep, or whose runs were removed.
    Gc(GcArgs),
    /// Manage results databases as a whole.
    Store {
        /// What to do.
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Check the installation: versions, libtorch, CUDA, data checksums.
    Doctor(DoctorArgs),
    /// Train one run from a configuration file (missing keys take the seed's values).
    Train(TrainArgs),
    /// Draw images from a checkpoint: a grid from scratch, or completions of occluded test images.
    ///
    /// A label-conditional model (`model.condition = "label"`) draws the class `--label` asks for,
    /// else one row per class.
    Sample(SampleArgs),
    /// Evaluate a checkpoint on the test set: NLL, bits/dim, nats/image.
    Eval(EvalArgs),
}

impl Command {
    /// Whether the command's whole product is what it prints (listings, tables, the plan), so
    /// that a closed pipe may simply end it; training, serving and store writes are never cut.
    pub fn only_prints(&self) -> bool {
        matches!(
            self,
            Command::Doctor(_) | Command::Plan(_) | Command::Runs(_) | Command::Show(_) | Command::Metrics(_)
        )
    }
}

/// The arguments of `pixelcnn plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The experiment.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// The results database.
    #[command(flatten)]
    pub db: DbArg,
    /// Time a few training steps of each model not recorded yet (seconds per model).
    #[arg(long)]
    pub probe: bool,
}

/// The arguments of `pixelcnn sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The experiment.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// The results database.
    #[command(flatten)]
    pub db: DbArg,
    /// Folder for run outputs (checkpoints, samples).
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Runs at once per device (on a CPU one run uses every core by default).
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
    /// Start a new attempt for configurations whose last attempt failed.
    #[arg(long)]
    pub retry_failed: bool,
    /// Label the runs this sweep creates (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// A note on the sweep and its runs.
    #[arg(long)]
    pub note: Option<String>,
    /// Seconds without a heartbeat after which a `running` run (of any sweep on the database)
    /// is taken for interrupted and taken over; its old worker, should it wake up, is refused.
    #[arg(long, default_value_t = 60)]
    pub stale_after: u64,
    /// Seconds between two heartbeats of this sweep's workers (at most a third of the
    /// `--stale-after` that other sweeps on the database use).
    #[arg(long, default_value_t = 5.0)]
    pub heartbeat_every: f64,
    /// Folder of reports: the sweep ends by writing REPORTS_DIR/<experiment>/index.html.
    #[arg(long, default_value = "reports")]
    pub reports_dir: PathBuf,
    /// Do not write the report at the end.
    #[arg(long)]
    pub no_report: bool,
    /// Where the runs train: worker processes on this machine, or a Slurm job array.
    #[arg(long, value_enum, default_value_t = LauncherKind::Local)]
    pub launcher: LauncherKind,
    /// Slurm settings (over the experiment's `[launcher.slurm]`).
    #[command(flatten)]
    pub slurm: SlurmArgs,
}

/// The arguments of `pixelcnn report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Experiment name, or its experiment file (the name is read from it).
    pub experiment: String,
    /// The results database.
    #[command(flatten)]
    pub db: DbArg,
    /// Output folder (default: reports/<experiment name>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The arguments of `pixelcnn serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The results database.
    #[command(flatten)]
    pub db: DbArg,
    /// Address to listen on. Anything but loopback requires the access token.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Port to listen on (0: any free port, printed).
    #[arg(long, default_value_t = pixelcnn_serve::DEFAULT_PORT)]
    pub port: u16,
    /// Access token to require (default: none on loopback, a generated one elsewhere).
    #[arg(long, env = "PIXELCNN_SERVE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// The arguments of `pixelcnn rerun`.
#[derive(Debug, Args)]
pub struct RerunArgs {
    /// The run (id or unique prefix).
    pub run: String,
    /// Repeat and compare only the first N epochs.
    #[arg(long)]
    pub epochs: Option<u32>,
    /// Device instead of the original's configuration (auto, cpu, cuda, cuda:N, flex).
    #[arg(long)]
    pub device: Option<DeviceSpec>,
    /// Threads instead of the original's.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Rerun even on another backend, device kind or thread count (judged by tolerance).
    #[arg(long)]
    pub allow_env_change: bool,
    /// The results database.
    #[command(flatten)]
    pub db: DbArg,
    /// Folder for run outputs.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
}

/// The arguments of `pixelcnn export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run (id or unique prefix).
    pub run: String,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// The results database.
    #[command(flatten)]
    pub db: DbArg,
}

/// The arguments of `pixelcnn compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The runs (ids or unique prefixes), the first the baseline the others are measured against.
    #[arg(num_args = 2.., required = true, value_name = "RUN")]
    pub runs: Vec<String>,
    /// The results database.
    #[command(flatten)]
    pub db: DbArg,
    /// Output folder of the HTML page (default: reports/compare-<A>-<B>[-<C>...]/).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The arguments of `pixelcnn worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Database URL.
    #[arg(long)]
    pub db: String,
    /// Claim among the configurations (hashes, one per line) this file lists: what one sweep
    /// or Slurm submission queued.
    #[arg(long, required_unless_present = "run", conflicts_with = "run")]
    pub configs: Option<PathBuf>,
    /// Claim this one queued run (a rerun).
    #[arg(long)]
    pub run: Option<String>,
    /// Runs train in `<runs-dir>/<their experiment>/<run id>/`.
    #[arg(long)]
    pub runs_dir: PathBuf,
    /// Seconds without a heartbeat after which a running run is taken over.
    #[arg(long, default_value_t = 60)]
    pub stale_after: u64,
    /// Seconds between heartbeats.
    #[arg(long, default_value_t = 5.0)]
    pub heartbeat_every: f64,
    /// Device placement of this worker's slot.
    #[arg(long)]
    pub device: Option<DeviceSpec>,
    /// Threads of this worker's slot, for runs that leave `threads` at 0.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Stop when stdin closes (the local sweep that started the worker went away).
    #[arg(long)]
    pub lifeline: bool,
}

/// The arguments of `pixelcnn runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Which runs.
    #[command(flatten)]
    pub selection: RunSelection,
    /// The results database.
    #[command(flatten)]
    pub db: DbArg,
    /// Order by this key (the keys of `--where`), ascending; runs without it come last.
    #[arg(long, value_name = "KEY")]
    pub sort: Option<String>,
    /// With `--sort`: descending.
    #[arg(long, requires = "sort")]
    pub desc: bool,
    /// Only the first K runs (after sorting).
    #[arg(long, value_name = "K")]
    pub top: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunsFormat::Table)]
    pub format: RunsFormat,
    /// Print JSON (the same as `--format json`).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

/// How `pixelcnn runs` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunsFormat {
    /// Aligned columns for a person.
    Table,
    /// The table's columns as CSV, full ids.
    Csv,
    /// Every field of every run.
    Json,
}

/// The arguments of `pixelcnn tag`.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// Run id or a unique prefix of it.
    pub run: String,
    /// `+name` (or `name`) adds a tag, `-name` removes one; none: print the run's tags.
    #[arg(allow_hyphen_values = true, value_name = "+TAG|-TAG")]
    pub changes: Vec<String>,
    /// The results database.
    #[command(flatten)]
    pub db: DbArg,
}

/// The arguments of `pixelcnn note`.
#[derive(Debug, Args)]
pub struct NoteArgs {
    /// Run id or a unique prefix of it.
    pub run: String,
    /// The note; `""` clears it; none: print the run's note.
    pub text: Option<String>,
    /// The results database.
    #[command(flatten)]
    pub db: DbArg,
}

/// The arguments of `pixelcnn rm`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).multiple(true).args(["runs", "experiment"]))]
pub struct RmArgs {
    /// Run ids or unique prefixes.
    pub runs: Vec<String>,
    /// Every run of this experiment, and the experiment's record.
    #[arg(long)]
    pub experiment: Option<String>,
    /// Delete without asking (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Only list what would be deleted.
    #[arg(long)]
    pub dry_run: bool,
    /// Seconds without a heartbeat after which a `running` run counts as abandoned and may be
    /// deleted (the `--stale-after` of sweeps); a run with a fresher heartbeat is refused.
    #[arg(long, default_value_t = 60)]
    pub stale_after: u64,
    /// Where the runs trained (the sweeps' `--runs-dir`): `<runs-dir>/<experiment>/<run id>/`
    /// goes too.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// The results database.
    #[command(flatten)]
    pub db: DbArg,
}

/// The arguments of `pixelcnn show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Run id or a unique prefix of it.
    pub run: String,
    /// The results database.
    #[command(flatten)]
    pub db: DbArg,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The arguments of `pixelcnn metrics`.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Which runs.
    #[command(flatten)]
    pub selection: RunSelection,
    /// The results database.
    #[command(flatten)]
    pub db: DbArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = MetricsFormat::Csv)]
    pub format: MetricsFormat,
}

/// The arguments of `pixelcnn gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// The results database.
    #[command(flatten)]
    pub db: DbArg,
    /// Only list what would be deleted.
    #[arg(long)]
    pub dry_run: bool,
}

/// The arguments of `pixelcnn doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Data folder to check (default: the cache's `mnist/`).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// The arguments of `pixelcnn train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Run configuration (TOML).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override a key, e.g. `--set train.epochs=2` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Output folder for checkpoints, samples and metrics.
    #[arg(long, default_value = "runs/train")]
    pub out: PathBuf,
    /// Continue from this checkpoint (its configuration, plus `--set`).
    #[arg(long, conflicts_with = "config")]
    pub resume: Option<PathBuf>,
    /// The results database the run is recorded in (as a sweep's runs are: `runs`, reports and
    /// `serve` show it).
    #[command(flatten)]
    pub db: DbArg,
    /// Experiment the run is filed under in the store.
    #[arg(long, default_value = "train")]
    pub experiment: String,
    /// Tag of the run (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Note of the run.
    #[arg(long)]
    pub note: Option<String>,
    /// Do not record the run in the store: only the output folder holds it.
    #[arg(long, conflicts_with_all = ["url", "tags", "note"])]
    pub no_store: bool,
}

/// The arguments of `pixelcnn sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Checkpoint file.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Images to draw from scratch.
    #[arg(long, default_value_t = 100)]
    pub n: usize,
    /// Complete the first 10 test images occluded from row 14 instead.
    #[arg(long)]
    pub complete: bool,
    /// Draw digits of this class (0-9; label-conditional models only). Without it a
    /// conditional model draws one row per class, and completes each test image given its
    /// own class.
    #[arg(long, value_name = "N")]
    pub label: Option<u8>,
    /// Seed of the draws (default: the run's seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Sampler: `cached` (fast, exact) or `naive` (the reference); default: the checkpoint's
    /// `sample.sampler`.
    #[arg(long)]
    pub sampler: Option<Sampler>,
    /// Device (default: the run's).
    #[arg(long)]
    pub device: Option<DeviceSpec>,
    /// Data folder for `--complete` (default: the run's).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// PNG file to write (default: next to the checkpoint).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The arguments of `pixelcnn eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Checkpoint file.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Data folder (default: the run's).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Device (default: the run's).
    #[arg(long)]
    pub device: Option<DeviceSpec>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
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
