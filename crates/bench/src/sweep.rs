//! Sweep overhead: a tiny sweep through the real `pixelcnn sweep` binary, on a temporary experiment
//! file and database, timed from outside; the time spent inside training is read back from the
//! store (`pixelcnn metrics --format json`, per-epoch `seconds`: training plus evaluation).
//! Sampling is switched off in the sweep (`sample.count = 0`, `sample.complete = 0`), so what
//! remains is the sweep's own cost: planning, claiming, one worker process per run (libtorch and
//! data loading, checksums), store writes, checkpoints and the report a sweep writes at its end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::stats::median;

/// The tiny sweep.
#[derive(Debug, Clone)]
pub struct SweepSpec {
    /// The `pixelcnn` binary.
    pub pixelcnn: PathBuf,
    /// Runs (configurations: one per seed).
    pub runs: usize,
    /// Epochs per run.
    pub epochs: usize,
    /// Threads per worker.
    pub threads: usize,
    /// MNIST folder (default: the cache's).
    pub data: Option<PathBuf>,
    /// Whole sweeps timed; the medians are the figures.
    pub reps: usize,
}

/// One timed sweep.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepRep {
    /// Wall time of `pixelcnn sweep`, seconds.
    pub wall_seconds: f64,
    /// Sum of the store's per-epoch seconds (training and evaluation) over every run.
    pub epoch_seconds: f64,
    /// Sum over runs of (ended_at - started_at) in the store: each worker's life as the store saw it.
    pub run_seconds: Option<f64>,
    /// `wall_seconds - epoch_seconds`.
    pub overhead_seconds: f64,
}

/// The sweep-overhead figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepOutcome {
    /// Runs in the sweep.
    pub runs: usize,
    /// Epochs per run.
    pub epochs: usize,
    /// Threads per worker.
    pub threads: usize,
    /// What each run trains.
    pub description: String,
    /// Median wall time, seconds.
    pub wall_seconds: f64,
    /// Median time inside training (and evaluation), seconds.
    pub epoch_seconds: f64,
    /// Median time inside sampling, seconds: 0, sampling is switched off.
    pub sampling_seconds: f64,
    /// Median overhead (wall minus training and sampling), seconds.
    pub overhead_seconds: f64,
    /// Median overhead per run, seconds.
    pub overhead_per_run_seconds: f64,
    /// Of the overhead: median time outside any worker's recorded life (planning, claiming,
    /// process start before the worker records itself), seconds.
    pub outside_workers_seconds: Option<f64>,
    /// Every timed sweep.
    pub reps: Vec<SweepRep>,
}

const TRAIN_LIMIT: usize = 256;
const TEST_LIMIT: usize = 64;

/// Runs the sweep `spec.reps` times, each on a fresh database.
pub fn measure(spec: &SweepSpec) -> anyhow::Result<SweepOutcome> {
    if !spec.pixelcnn.exists() {
        bail!(
            "the pixelcnn binary {} does not exist: build it (`cargo build --release`) or pass --pixelcnn",
            spec.pixelcnn.display()
        );
    }
    let mut reps = Vec::new();
    for _ in 0..spec.reps.max(1) {
        reps.push(once(spec)?);
    }
    let pick = |f: &dyn Fn(&SweepRep) -> Option<f64>| {
        let values: Option<Vec<f64>> = reps.iter().map(f).collect();
        values.and_then(|v| median(&v))
    };
    let overhead = pick(&|r| Some(r.overhead_seconds)).context("no finite sweep timing")?;
    Ok(SweepOutcome {
        runs: spec.runs,
        epochs: spec.epochs,
        threads: spec.threads,
        description: format!(
            "libtorch CPU, 1 block, h = 4, q = 2, {TRAIN_LIMIT} training and {TEST_LIMIT} test images, \
             batch 64, {} epoch(s), no sampling",
            spec.epochs
        ),
        wall_seconds: pick(&|r| Some(r.wall_seconds)).context("no wall time")?,
        epoch_seconds: pick(&|r| Some(r.epoch_seconds)).context("no epoch time")?,
        sampling_seconds: 0.0,
        overhead_seconds: overhead,
        overhead_per_run_seconds: overhead / spec.runs.max(1) as f64,
        outside_workers_seconds: pick(&|r| r.run_seconds.map(|s| r.wall_seconds - s)),
        reps,
    })
}

fn once(spec: &SweepSpec) -> anyhow::Result<SweepRep> {
    // Paths the sweep gets must not depend on its working directory.
    let spec = &SweepSpec {
        pixelcnn: std::path::absolute(&spec.pixelcnn)?,
        data: spec.data.as_deref().map(std::path::absolute).transpose()?,
        ..spec.clone()
    };
    let dir = tempfile::tempdir()?;
    let file = write_experiment(dir.path(), spec)?;
    let db = dir.path().join("bench.db");
    let db_arg = db.to_str().context("temporary path is not UTF-8")?;
    let runs_dir = dir.path().join("runs");
    let started = Instant::now();
    // In the temporary folder: whatever the sweep writes relative to its working directory (its
    // end-of-sweep report, `reports/<experiment>/`) is part of its cost but must not litter.
    let output = pixelcnn(&spec.pixelcnn)
        .current_dir(dir.path())
        .arg("sweep")
        .arg(&file)
        .args(["--db", db_arg])
        .arg("--runs-dir")
        .arg(&runs_dir)
        .output()
        .context("starting pixelcnn sweep")?;
    let wall_seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        bail!("pixelcnn sweep failed ({}): {}", output.status, text(&output));
    }
    let rows = json(&spec.pixelcnn, &["metrics", "--db", db_arg, "--format", "json"])?;
    let rows = rows.as_array().context("metrics are not a list")?;
    if rows.len() != spec.runs * spec.epochs {
        bail!("the store holds {} epoch rows, expected {}", rows.len(), spec.runs * spec.epochs);
    }
    let epoch_seconds = rows
        .iter()
        .map(|r| r["seconds"].as_f64().context("an epoch row without seconds"))
        .sum::<anyhow::Result<f64>>()?;
    let runs = json(&spec.pixelcnn, &["runs", "--db", db_arg, "--json"])?;
    let run_seconds = runs.as_array().and_then(|runs| {
        runs.iter()
            .map(|r| {
                let at = |key: &str| chrono::DateTime::parse_from_rfc3339(r[key].as_str()?).ok();
                Some((at("ended_at")? - at("started_at")?).as_seconds_f64())
            })
            .sum::<Option<f64>>()
    });
    Ok(SweepRep { wall_seconds, epoch_seconds, run_seconds, overhead_seconds: wall_seconds - epoch_seconds })
}

fn write_experiment(dir: &Path, spec: &SweepSpec) -> anyhow::Result<PathBuf> {
    let seeds: Vec<String> = (1..=spec.runs).map(|s| s.to_string()).collect();
    let data_dir = match &spec.data {
        Some(d) => format!("dir = {}\n", toml_string(d)?),
        None => String::new(),
    };
    let text = format!(
        "device = \"cpu\"\nthreads = {threads}\n\n\
         [experiment]\nname = \"bench-sweep-overhead\"\ndescription = \"pixelcnn-bench: sweep overhead\"\n\n\
         [data]\n{data_dir}train_limit = {TRAIN_LIMIT}\ntest_limit = {TEST_LIMIT}\n\n\
         [model]\nlevels = 2\nblocks = 1\nhidden = 4\n\n\
         [train]\nepochs = {epochs}\nbatch_size = 64\n\n\
         [sample]\ncount = 0\ncomplete = 0\n\n\
         [sweep]\nseeds = [{seeds}]\n",
        threads = spec.threads,
        epochs = spec.epochs,
        seeds = seeds.join(", "),
    );
    let path = dir.join("bench-sweep-overhead.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

fn toml_string(path: &Path) -> anyhow::Result<String> {
    let s = path.to_str().context("data path is not UTF-8")?;
    Ok(format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
}

fn pixelcnn(exe: &Path) -> Command {
    let mut cmd = Command::new(exe);
    cmd.env("RUST_LOG", "warn");
    cmd
}

fn text(output: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn json(exe: &Path, args: &[&str]) -> anyhow::Result<serde_json::Value> {
    let output = pixelcnn(exe).args(args).output().with_context(|| format!("starting pixelcnn {args:?}"))?;
    if !output.status.success() {
        bail!("pixelcnn {args:?} failed: {}", text(&output));
    }
    serde_json::from_slice(&output.stdout).with_context(|| format!("parsing the output of pixelcnn {args:?}"))
}
