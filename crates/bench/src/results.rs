//! The results file: one JSON document per benchmark run, `bench/results/<UTC time>-<host>.json`
//! (`-quick` appended in quick mode), written atomically.

use std::path::{Path, PathBuf};

use anyhow::Context;
use pixelcnn_config::Sampler;
use serde::{Deserialize, Serialize};

use crate::machine::{Machine, Versions};
use crate::measure::SampleOutcome;
use crate::reference::{PySample, PyTrain};
use crate::sweep::SweepOutcome;

/// Version of this document's layout. Version 1 files (before the gated PixelCNN) read as the
/// seed's PixelCNN throughout (every `family` defaults to it).
pub const SCHEMA: u32 = 2;

fn pixelcnn() -> String {
    "pixelcnn".into()
}

/// Everything one benchmark run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// Layout version ([`SCHEMA`]).
    pub schema: u32,
    /// Quick mode: tiny sizes, one repetition; the figures say nothing about speed.
    pub quick: bool,
    /// Every group measured and nothing failed.
    pub complete: bool,
    /// UTC start, RFC 3339.
    pub started_at: String,
    /// UTC end, RFC 3339.
    pub finished_at: String,
    /// The machine.
    pub machine: Machine,
    /// The software.
    pub versions: Versions,
    /// Sizes, threads and repetitions.
    pub settings: Settings,
    /// Training throughput of pixelcnn-lab, per backend and q.
    pub train: Vec<TrainFigure>,
    /// Sampling time of pixelcnn-lab, per sampler and q.
    pub sample: Vec<SampleFigure>,
    /// Sweep overhead.
    pub sweep: Option<SweepOutcome>,
    /// The PyTorch reference's own figures.
    pub pytorch: PytorchFigures,
    /// Measurements that failed, with the reason.
    pub errors: Vec<String>,
}

/// How the run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Intra-op threads of every backend and of PyTorch.
    pub threads: usize,
    /// Residual blocks of the measured seed model.
    pub blocks: usize,
    /// `h` of the measured seed model.
    pub hidden: usize,
    /// The gated PixelCNN measured beside it, as people read it (none before it existed).
    #[serde(default)]
    pub gated: Option<String>,
    /// Levels measured.
    pub levels: Vec<usize>,
    /// Training batch.
    pub batch: usize,
    /// Untimed training steps.
    pub warmup_steps: usize,
    /// Training steps per timed window.
    pub steps_per_rep: usize,
    /// Timed training windows.
    pub train_reps: usize,
    /// Images drawn at once by the samplers.
    pub sample_images: usize,
    /// Rows (of 28 pixels) the naive sampler is timed over per repetition.
    pub naive_rows: usize,
    /// Pixels the PyTorch reference's naive sampler is timed over per repetition.
    pub pytorch_sample_pixels: usize,
    /// Sampling repetitions.
    pub sample_reps: usize,
    /// Runs in the sweep-overhead sweep.
    pub sweep_runs: usize,
    /// Timed sweeps.
    pub sweep_reps: usize,
    /// Training data: `mnist` from this folder.
    pub data: String,
    /// Environment variables that change CPU performance (allocator, OpenMP, oneDNN), as the
    /// harness saw them: every measurement process inherits them, PyTorch's included.
    #[serde(default)]
    pub environment: std::collections::BTreeMap<String, String>,
}

/// Variables recorded in [`Settings::environment`] when set.
pub const PERFORMANCE_ENV: [&str; 14] = [
    "GLIBC_TUNABLES",
    "LD_PRELOAD",
    "MALLOC_CONF",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "OMP_PROC_BIND",
    "OMP_PLACES",
    "GOMP_SPINCOUNT",
    "KMP_BLOCKTIME",
    "KMP_AFFINITY",
    "DNNL_MAX_CPU_ISA",
    "ONEDNN_MAX_CPU_ISA",
    "ATEN_CPU_CAPABILITY",
];

/// The [`PERFORMANCE_ENV`] variables set in this process.
pub fn performance_env() -> std::collections::BTreeMap<String, String> {
    PERFORMANCE_ENV.iter().filter_map(|k| Some(((*k).to_owned(), std::env::var(k).ok()?))).collect()
}

/// Training throughput of one backend for one model family at one q.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainFigure {
    /// `libtorch-cpu` or `flex`.
    pub backend: String,
    /// `pixelcnn` or `gated`.
    #[serde(default = "pixelcnn")]
    pub family: String,
    /// q.
    pub levels: usize,
    /// Parameters of the model trained.
    #[serde(default)]
    pub params: Option<usize>,
    /// Median images/s.
    pub images_per_second: f64,
    /// Images/s of every timed window.
    pub reps: Vec<f64>,
    /// Seconds before the first timed step (process, data, model, warm-up).
    pub setup_seconds: f64,
    /// Peak RSS of the training process, bytes.
    pub peak_rss_bytes: Option<u64>,
    /// The faster PyTorch layout at this q.
    pub pytorch_fastest_layout: Option<String>,
    /// Its images/s.
    pub pytorch_fastest_images_per_second: Option<f64>,
    /// `images_per_second / pytorch_fastest_images_per_second`: 1 is parity, below 1 slower.
    pub speed_vs_pytorch: Option<f64>,
}

/// Time to draw a batch of images with one sampler for one model family at one q.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SampleFigure {
    /// Sampler.
    pub sampler: Sampler,
    /// `pixelcnn` or `gated`.
    #[serde(default = "pixelcnn")]
    pub family: String,
    /// q.
    pub levels: usize,
    /// Images drawn at once.
    pub images: usize,
    /// What the measurement found.
    #[serde(flatten)]
    pub outcome: SampleOutcome,
    /// The PyTorch reference's naive sampler at its faster layout: seconds for the same batch.
    pub pytorch_naive_seconds: Option<f64>,
    /// `pytorch_naive_seconds / seconds`: above 1 faster than PyTorch's naive sampler.
    pub speed_vs_pytorch: Option<f64>,
    /// Cached sampler only: naive seconds / cached seconds (the target is 100).
    pub speedup_vs_naive: Option<f64>,
}

/// The reference's figures.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PytorchFigures {
    /// Training, per q and layout.
    pub train: Vec<PyTrainFigure>,
    /// Naive sampling, per q and layout.
    pub sample: Vec<PySampleFigure>,
}

/// A reference training figure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PyTrainFigure {
    /// `pixelcnn` or `gated`.
    #[serde(default = "pixelcnn")]
    pub family: String,
    /// q.
    pub levels: usize,
    /// The measurement.
    #[serde(flatten)]
    pub figure: PyTrain,
}

/// A reference sampling figure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PySampleFigure {
    /// `pixelcnn` or `gated`.
    #[serde(default = "pixelcnn")]
    pub family: String,
    /// q.
    pub levels: usize,
    /// Images drawn at once.
    pub images: usize,
    /// The measurement.
    #[serde(flatten)]
    pub figure: PySample,
}

impl Results {
    /// The file name: UTC start time and host, e.g. `20250131T120000Z-myhost.json`.
    pub fn file_name(&self) -> String {
        let stamp = chrono::DateTime::parse_from_rfc3339(&self.started_at)
            .map(|t| t.with_timezone(&chrono::Utc).format("%Y%m%dT%H%M%SZ").to_string())
            .unwrap_or_else(|_| "unknown-time".into());
        let host: String = self
            .machine
            .host
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
            .collect();
        format!("{stamp}-{host}{}.json", if self.quick { "-quick" } else { "" })
    }

    /// Writes into `dir` (through a `.tmp` file renamed into place); returns the path.
    pub fn write(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(self.file_name());
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("renaming to {}", path.display()))?;
        Ok(path)
    }

    /// Reads a results file.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}
