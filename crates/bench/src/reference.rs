//! The PyTorch reference (`bench/reference/pixelcnn_reference.py`: the seed's PixelCNN and the gated
//! PixelCNN), run with the torch 2.9.0 venv's Python: one process per measurement, one JSON object
//! printed by each.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::measure::{Architecture, ModelSize};

/// Memory layout of the reference's tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Contiguous NCHW tensors, PyTorch's default.
    Nchw,
    /// NHWC memory format (`torch.channels_last`), which oneDNN prefers on CPUs.
    ChannelsLast,
}

impl Layout {
    /// Both layouts.
    pub const ALL: [Layout; 2] = [Layout::Nchw, Layout::ChannelsLast];

    /// The name the script takes and results use.
    pub fn label(self) -> &'static str {
        match self {
            Self::Nchw => "nchw",
            Self::ChannelsLast => "channels_last",
        }
    }
}

/// A training measurement of the reference.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PyTrain {
    /// Layout.
    pub layout: Layout,
    /// Median images/s.
    pub images_per_second: f64,
    /// Images/s of every timed window.
    pub reps: Vec<f64>,
    /// Parameters of the reference's model (to check that it is the same network).
    #[serde(default)]
    pub params: Option<u64>,
    /// Peak RSS of the Python process, bytes.
    pub peak_rss_bytes: Option<u64>,
}

/// A naive-sampling measurement of the reference.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PySample {
    /// Layout.
    pub layout: Layout,
    /// Median seconds per generated pixel (one forward pass of the batch plus the draw).
    pub seconds_per_pixel: f64,
    /// `seconds_per_pixel x 784`: the whole batch, extrapolated.
    pub seconds: f64,
    /// Pixels timed per repetition.
    pub pixels_timed: usize,
    /// Seconds per pixel of every repetition.
    pub reps: Vec<f64>,
    /// Peak RSS of the Python process, bytes.
    pub peak_rss_bytes: Option<u64>,
}

/// The reference script and the Python that runs it.
#[derive(Debug, Clone)]
pub struct Reference {
    python: PathBuf,
    script: PathBuf,
    threads: usize,
    mnist: Option<PathBuf>,
}

/// The torch 2.9.0 venv's Python in the cache (`$PIXELCNN_CACHE`, else `~/.cache/pixelcnn`), if
/// there is one, else `python3` from `PATH`.
pub fn default_python() -> PathBuf {
    let venv = pixelcnn_data::mnist::cache_dir().join("torch-2.9.0/bin/python3");
    if venv.exists() { venv } else { PathBuf::from("python3") }
}

impl Reference {
    /// The script under `root`, run by `python` with `threads` threads; `mnist` is the data folder
    /// (random levels when it is not found).
    pub fn new(python: PathBuf, root: &Path, threads: usize, mnist: Option<PathBuf>) -> Self {
        Self { python, script: root.join("bench/reference/pixelcnn_reference.py"), threads, mnist }
    }

    fn call(&self, args: &[String]) -> anyhow::Result<serde_json::Value> {
        let mut cmd = Command::new(&self.python);
        cmd.arg(&self.script).args(args).args(["--threads", &self.threads.to_string()]);
        if let Some(dir) = &self.mnist {
            cmd.arg("--mnist").arg(dir);
        }
        let output = cmd.output().with_context(|| format!("starting {}", self.python.display()))?;
        if !output.status.success() {
            bail!(
                "{} {} failed ({}): {}",
                self.python.display(),
                self.script.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout.lines().last().context("the reference printed nothing")?;
        serde_json::from_str(line).with_context(|| format!("reading the reference's output `{line}`"))
    }

    /// torch, Python and library versions.
    pub fn info(&self) -> anyhow::Result<serde_json::Value> {
        self.call(&["info".into()])
    }

    /// Timed training steps.
    pub fn train(
        &self,
        model: ModelSize,
        layout: Layout,
        batch: usize,
        [warmup, steps, reps]: [usize; 3],
    ) -> anyhow::Result<PyTrain> {
        let mut args = vec!["train".to_owned()];
        args.extend(model_args(model, layout));
        for (flag, value) in [("--batch", batch), ("--warmup", warmup), ("--steps", steps), ("--reps", reps)]
        {
            args.extend([flag.to_owned(), value.to_string()]);
        }
        let v = self.call(&args)?;
        Ok(PyTrain {
            layout,
            images_per_second: number(&v, "images_per_second")?,
            reps: numbers(&v, "reps")?,
            params: v["params"].as_u64(),
            peak_rss_bytes: v["peak_rss_bytes"].as_u64(),
        })
    }

    /// Naive sampling, timed over `pixels` pixels per repetition.
    pub fn sample(
        &self,
        model: ModelSize,
        layout: Layout,
        images: usize,
        pixels: usize,
        reps: usize,
    ) -> anyhow::Result<PySample> {
        let mut args = vec!["sample".to_owned()];
        args.extend(model_args(model, layout));
        for (flag, value) in [("--sample-batch", images), ("--pixels", pixels), ("--reps", reps)] {
            args.extend([flag.to_owned(), value.to_string()]);
        }
        let v = self.call(&args)?;
        Ok(PySample {
            layout,
            seconds_per_pixel: number(&v, "seconds_per_pixel")?,
            seconds: number(&v, "seconds_per_batch")?,
            pixels_timed: usize::try_from(v["pixels_timed"].as_u64().unwrap_or(0)).unwrap_or(0),
            reps: numbers(&v, "reps_seconds_per_pixel")?,
            peak_rss_bytes: v["peak_rss_bytes"].as_u64(),
        })
    }
}

fn model_args(model: ModelSize, layout: Layout) -> Vec<String> {
    let size = match model.architecture {
        Architecture::Pixelcnn { blocks, hidden } => vec![("--blocks", blocks), ("--hidden", hidden)],
        Architecture::Gated { layers, channels, kernel } => {
            vec![("--layers", layers), ("--channels", channels), ("--kernel", kernel)]
        }
    };
    let mut args = vec![
        "--family".to_owned(),
        model.architecture.family().to_owned(),
        "--levels".into(),
        model.levels.to_string(),
        "--layout".into(),
        layout.label().into(),
    ];
    args.extend(size.into_iter().flat_map(|(flag, value)| [flag.to_owned(), value.to_string()]));
    args
}

fn number(v: &serde_json::Value, key: &str) -> anyhow::Result<f64> {
    v[key].as_f64().with_context(|| format!("the reference's output has no number `{key}`: {v}"))
}

fn numbers(v: &serde_json::Value, key: &str) -> anyhow::Result<Vec<f64>> {
    v[key]
        .as_array()
        .with_context(|| format!("the reference's output has no list `{key}`"))?
        .iter()
        .map(|x| x.as_f64().context("a non-number in the reference's output"))
        .collect()
}
