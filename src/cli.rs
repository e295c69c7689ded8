//! Command-line syntax.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

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

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
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
        /// Seed of the draws (default: the run's seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Device (default: the run's).
        #[arg(long)]
        device: Option<String>,
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
        device: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}
