//! `pixelcnn-bench`: the benchmark harness of pixelcnn-lab (`just bench`).
//!
//! It measures, on this machine and with a fixed thread count:
//!
//! - training images/s of the seed architecture (15 blocks, h = 64, batch 128; q = 2 and 256) on
//!   libtorch CPU and on flex, through the project's real [`pixelcnn_train::Trainer`];
//! - the time to draw 100 samples with the naive sampler (timed over a few rows and scaled to 784
//!   pixels, its cost per pixel being constant) and with the cached sampler;
//! - the overhead of a 12-run tiny sweep through the real `pixelcnn sweep` binary: its wall time minus
//!   the time spent inside training (the store's per-epoch seconds; sampling is switched off);
//! - the peak memory (RSS) of training and sampling;
//! - the same training and sampling in a PyTorch reference of the model (`bench/reference/`), so that
//!   every figure is also given as a ratio to PyTorch measured in the same run.
//!
//! Every measurement runs in its own child process (`pixelcnn-bench measure`), so that its peak RSS
//! is its own and the thread pools are set once. Results go to `bench/results/<date>-<host>.json`
//! and the Markdown table in `docs/benchmarks.md` is regenerated from the latest results.

mod machine;
mod measure;
mod reference;
mod report;
mod results;
mod run;
mod stats;
mod sweep;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Benchmarks pixelcnn-lab against a PyTorch reference and writes bench/results/ and docs/benchmarks.md.
#[derive(Debug, Parser)]
#[command(name = "pixelcnn-bench", version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    /// Something other than a benchmark run.
    #[command(subcommand)]
    command: Option<Command>,
    /// How to run the benchmarks.
    #[command(flatten)]
    run: RunArgs,
}

/// Subcommands besides the benchmark run itself.
#[derive(Debug, Subcommand)]
enum Command {
    /// Regenerate the Markdown page from the latest results, measuring nothing.
    Report {
        /// Repository root (default: the workspace this binary was built from).
        #[arg(long)]
        root: Option<PathBuf>,
        /// Folder of the JSON results (default: ROOT/bench/results).
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Markdown page to write (default: ROOT/docs/benchmarks.md).
        #[arg(long)]
        doc: Option<PathBuf>,
    },
    /// One measurement in this process, printed as one JSON line (the harness runs every
    /// measurement this way, in a child process).
    #[command(hide = true)]
    Measure {
        /// The measurement, as JSON (see `measure::Spec`).
        #[arg(long)]
        spec: String,
    },
}

/// Measurement groups that `--only` can select.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Group {
    /// Training throughput (libtorch CPU and flex) and its peak RSS.
    Train,
    /// Naive and cached sampling time and peak RSS.
    Sample,
    /// Sweep overhead.
    Sweep,
    /// The PyTorch reference.
    Pytorch,
}

/// Options of a benchmark run.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Tiny model and data, one repetition: checks that every measurement works in seconds. Its
    /// figures say nothing about speed.
    #[arg(long)]
    pub quick: bool,
    /// Threads of every backend, PyTorch included (default: one per available core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Timed repetitions of each measurement; figures are their medians (default 5 for training
    /// and 3 for sampling and the sweep, which are capped at 3; quick 1).
    #[arg(long)]
    pub reps: Option<usize>,
    /// Only these groups (comma-separated; default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Group>,
    /// Rows of 28 pixels the naive sampler is timed over per repetition (default 1).
    #[arg(long)]
    pub sample_rows: Option<usize>,
    /// Runs of the tiny sweep (default 12, quick 2).
    #[arg(long)]
    pub sweep_runs: Option<usize>,
    /// Repository root (default: the workspace this binary was built from).
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Folder for the JSON results (default: ROOT/bench/results).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Markdown page to regenerate (default: ROOT/docs/benchmarks.md).
    #[arg(long)]
    pub doc: Option<PathBuf>,
    /// The `pixelcnn` binary for the sweep (default: the one next to this binary).
    #[arg(long, env = "PIXELCNN_BIN")]
    pub pixelcnn: Option<PathBuf>,
    /// Python with torch 2.9.0 (default: the cache's torch-2.9.0 venv, else `python3`).
    #[arg(long, env = "PIXELCNN_PYTHON")]
    pub python: Option<PathBuf>,
    /// Folder of the MNIST IDX files (default: the cache's `mnist/`).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

fn main() -> ExitCode {
    // The same allocator settings as `pixelcnn` (its training and sampling are measured here);
    // `just bench` gives the PyTorch reference the same through GLIBC_TUNABLES.
    pixelcnn_train::allocator::keep_freed_memory();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Some(Command::Measure { spec }) => measure::child_main(&spec),
        Some(Command::Report { root, out_dir, doc }) => {
            let root = root.unwrap_or_else(run::default_root);
            let out_dir = out_dir.unwrap_or_else(|| root.join("bench/results"));
            let doc = doc.unwrap_or_else(|| root.join("docs/benchmarks.md"));
            report::regenerate(&out_dir, &doc, &root).map(|latest| {
                eprintln!("{} regenerated from {}", doc.display(), latest.display());
            })
        }
        None => run::run(&cli.run),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
