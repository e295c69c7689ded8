//! Measurements made inside a child process (`pixelcnn-bench measure --spec JSON`), one per
//! process: its peak RSS is then the measurement's own, and the backends' thread pools (libtorch's,
//! flex's global rayon pool) are set once, before anything runs.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use burn::tensor::{Tensor, TensorData};
use pixelcnn_config::{DeviceSpec, ModelConfig, ModelFamily, RunConfig, Sampler};
use pixelcnn_model::sample::complete as naive_complete;
use pixelcnn_model::{Draw, Model};
use pixelcnn_train::{RunObserver, RunStart, StepProgress, TrainError, Trainer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::machine::peak_rss_bytes;
use crate::stats::median;

/// Image side of MNIST.
pub const SIDE: usize = 28;

/// The network measured: `q` and the family with its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSize {
    /// `q`, quantisation levels.
    pub levels: usize,
    /// The family and its size.
    pub architecture: Architecture,
}

/// A model family with its size (unconditional: conditioning adds a bias per gate, no cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum Architecture {
    /// The seed's PixelCNN.
    Pixelcnn {
        /// Residual blocks.
        blocks: usize,
        /// `h`; the residual stream has `2h` channels.
        hidden: usize,
    },
    /// The gated PixelCNN.
    Gated {
        /// Gated layers.
        layers: usize,
        /// Channels of both stacks.
        channels: usize,
        /// Kernel size.
        kernel: usize,
    },
}

impl Architecture {
    /// The family's name in configurations and results: `pixelcnn` or `gated`.
    pub fn family(self) -> &'static str {
        self.model_family().as_str()
    }

    fn model_family(self) -> ModelFamily {
        match self {
            Self::Pixelcnn { .. } => ModelFamily::PixelCnn,
            Self::Gated { .. } => ModelFamily::Gated,
        }
    }

    /// The size as people read it, e.g. `15 blocks, h = 64`.
    pub fn describe(self) -> String {
        match self {
            Self::Pixelcnn { blocks, hidden } => format!("{blocks} residual block(s), h = {hidden}"),
            Self::Gated { layers, channels, kernel } => {
                format!("{layers} gated layer(s), {channels} channels, kernel {kernel}")
            }
        }
    }
}

impl ModelSize {
    /// The run configuration's `[model]` for this network.
    pub fn model_config(self) -> anyhow::Result<ModelConfig> {
        let mut model = ModelConfig {
            levels: pixelcnn_config::Levels::new(self.levels).map_err(anyhow::Error::msg)?,
            family: self.architecture.model_family(),
            ..ModelConfig::default()
        };
        match self.architecture {
            Architecture::Pixelcnn { blocks, hidden } => (model.blocks, model.hidden) = (blocks, hidden),
            Architecture::Gated { layers, channels, kernel } => {
                model.gated = pixelcnn_config::GatedKeys { layers, channels, kernel };
            }
        }
        Ok(model)
    }
}

/// Where a measurement runs: burn's libtorch CPU backend or its pure-Rust flex backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// libtorch on the CPU (`device = "cpu"`).
    LibtorchCpu,
    /// burn's flex backend (`device = "flex"`).
    Flex,
}

impl Backend {
    /// The `device` key of a run configuration.
    pub fn device_key(self) -> DeviceSpec {
        match self {
            Self::LibtorchCpu => DeviceSpec::Cpu,
            Self::Flex => DeviceSpec::Flex,
        }
    }

    /// The name used in results and tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::LibtorchCpu => "libtorch-cpu",
            Self::Flex => "flex",
        }
    }
}

/// One measurement.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Spec {
    /// Training throughput.
    Train(TrainSpec),
    /// Sampling time.
    Sample(SampleSpec),
}

/// Training steps of the real trainer, timed from its step callbacks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainSpec {
    /// Backend.
    pub backend: Backend,
    /// Network.
    pub model: ModelSize,
    /// Images per step.
    pub batch: usize,
    /// Untimed steps first.
    pub warmup: usize,
    /// Steps per timed window.
    pub steps: usize,
    /// Timed windows; the median is the figure.
    pub reps: usize,
    /// Intra-op threads.
    pub threads: usize,
    /// MNIST folder (default: the cache's).
    pub data: Option<PathBuf>,
    /// Run seed.
    pub seed: u64,
}

/// Drawing `images` images of 28x28 pixels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SampleSpec {
    /// Sampler.
    pub sampler: Sampler,
    /// Network.
    pub model: ModelSize,
    /// Images drawn at once (the batch).
    pub images: usize,
    /// Naive sampler: rows of 28 pixels timed per repetition (scaled to 28 rows).
    pub rows: usize,
    /// Repetitions; the median is the figure.
    pub reps: usize,
    /// Intra-op threads.
    pub threads: usize,
    /// Seed of the initialisation and of the draws.
    pub seed: u64,
}

/// What a training measurement found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOutcome {
    /// Device as the trainer names it.
    pub device: String,
    /// Threads it used.
    pub threads: usize,
    /// Median images/s over the timed windows.
    pub images_per_second: f64,
    /// Images/s of every timed window.
    pub reps: Vec<f64>,
    /// Seconds from process start to the first step callback's window start (setup, data, warm-up).
    pub setup_seconds: f64,
    /// Parameters of the model, as the trainer counts them.
    pub params: usize,
    /// Peak RSS of the process, bytes.
    pub peak_rss_bytes: Option<u64>,
}

/// What a sampling measurement found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SampleOutcome {
    /// Device.
    pub device: String,
    /// Threads.
    pub threads: usize,
    /// False when this build has no such sampler yet (nothing else is then filled in).
    pub available: bool,
    /// Seconds to draw the whole batch of 28x28 images (median), scaled from the pixels timed
    /// when `extrapolated`.
    pub seconds: Option<f64>,
    /// Seconds per generated pixel (median).
    pub seconds_per_pixel: Option<f64>,
    /// Pixels generated per timed repetition.
    pub pixels_timed: usize,
    /// Whether `seconds` is `seconds_per_pixel x 784` rather than a whole generation timed.
    pub extrapolated: bool,
    /// Seconds of each repetition, for the pixels timed.
    pub reps: Vec<f64>,
    /// Peak RSS of the process, bytes.
    pub peak_rss_bytes: Option<u64>,
}

/// Entry point of the child: runs the measurement `spec` (JSON) and prints its outcome as one
/// JSON line on stdout.
pub fn child_main(spec: &str) -> anyhow::Result<()> {
    let spec: Spec = serde_json::from_str(spec).context("parsing --spec")?;
    let line = match spec {
        Spec::Train(s) => serde_json::to_string(&train(&s)?)?,
        Spec::Sample(s) => serde_json::to_string(&sample(&s)?)?,
    };
    println!("{line}");
    Ok(())
}

/// Runs `spec` in a child process of this binary and parses the JSON line it prints.
pub fn in_child<T: for<'de> Deserialize<'de>>(spec: &Spec) -> anyhow::Result<T> {
    let exe = std::env::current_exe().context("locating this binary")?;
    let output = Command::new(exe)
        .args(["measure", "--spec", &serde_json::to_string(spec)?])
        .env("RUST_LOG", "warn")
        .output()
        .context("starting a measurement process")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("measurement failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim());
    }
    let line = stdout.lines().last().context("the measurement printed nothing")?;
    serde_json::from_str(line).with_context(|| format!("reading the measurement's output `{line}`"))
}

/// Records when each step of the trainer finished and stops it once every timed window is done.
struct StepClock {
    started: Option<Instant>,
    params: usize,
    stamps: Vec<Instant>,
    needed: usize,
}

impl RunObserver for StepClock {
    fn started(&mut self, start: &RunStart) {
        self.started = Some(Instant::now());
        self.params = start.params;
    }

    fn step(&mut self, _progress: &StepProgress) {
        self.stamps.push(Instant::now());
    }

    fn stop_requested(&self) -> bool {
        self.stamps.len() >= self.needed
    }
}

/// Trains through [`Trainer`] (the seed's step: LR decay, forward, mean NLL, backward, global-norm
/// clipping, Keras Adam, a loss read every 10 steps) and times windows of its steps.
fn train(spec: &TrainSpec) -> anyhow::Result<TrainOutcome> {
    if spec.steps == 0 || spec.reps == 0 {
        bail!("a training measurement needs at least one timed step and one repetition");
    }
    let process_start = Instant::now();
    let needed = spec.warmup + spec.reps * spec.steps;
    let mut config = RunConfig { seed: spec.seed, device: spec.backend.device_key(), ..RunConfig::default() };
    config.threads = spec.threads;
    config.data.dir.clone_from(&spec.data);
    // One spare batch, so that the epoch never ends (and evaluates) inside the timed steps.
    config.data.train_limit = Some(spec.batch * (needed + 1));
    config.data.test_limit = Some(1);
    config.model = spec.model.model_config()?;
    config.train.epochs = 1;
    config.train.batch_size = spec.batch;
    config.sample.count = 0;
    config.sample.complete = 0;
    let out = tempfile::tempdir()?;
    let trainer = Trainer::new(config, out.path())?;
    let mut clock = StepClock { started: None, params: 0, stamps: Vec::new(), needed };
    match trainer.run(&mut clock) {
        Ok(_) | Err(TrainError::Stopped(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let started = clock.started.context("the trainer never started")?;
    if clock.stamps.len() < needed {
        bail!("the trainer stopped after {} of {needed} steps", clock.stamps.len());
    }
    let stamp = |i: usize| if i == 0 { started } else { clock.stamps[i - 1] };
    let reps: Vec<f64> = (0..spec.reps)
        .map(|r| {
            let first = spec.warmup + r * spec.steps;
            let seconds = stamp(first + spec.steps).duration_since(stamp(first)).as_secs_f64();
            (spec.steps * spec.batch) as f64 / seconds
        })
        .collect();
    Ok(TrainOutcome {
        device: spec.backend.label().into(),
        threads: spec.threads,
        images_per_second: median(&reps).context("no finite timing")?,
        reps,
        setup_seconds: stamp(spec.warmup).duration_since(process_start).as_secs_f64(),
        params: clock.params,
        peak_rss_bytes: peak_rss_bytes(),
    })
}

/// libtorch CPU where this build has it, else flex.
fn sampling_backend() -> Backend {
    if cfg!(feature = "tch") { Backend::LibtorchCpu } else { Backend::Flex }
}

fn sample(spec: &SampleSpec) -> anyhow::Result<SampleOutcome> {
    let backend = sampling_backend();
    let spec_device = backend.device_key();
    let selected = pixelcnn_train::device::select(spec_device, spec.threads)?;
    let device = selected.device;
    device.seed(spec.seed);
    let config = RunConfig { model: spec.model.model_config()?, ..RunConfig::default() };
    let model = pixelcnn_model::ModelConfig::from(&config.model).init(&device);
    let dims = [spec.images, SIDE, SIDE];
    let mut outcome = SampleOutcome {
        device: selected.info.name,
        threads: spec.threads,
        available: true,
        seconds: None,
        seconds_per_pixel: None,
        pixels_timed: 0,
        extrapolated: false,
        reps: Vec::new(),
        peak_rss_bytes: None,
    };
    match spec.sampler {
        Sampler::Naive => warm_up(&model, spec.images),
        // Two rows at the same batch: every shape the sampler uses, and the lazy parameters,
        // without a full forward pass (which would set the peak RSS).
        Sampler::Cached => {
            Sampler::Cached.sample(&model, [spec.images, 2, SIDE], None, &mut ChaCha8Rng::seed_from_u64(0));
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let pixels = match spec.sampler {
        Sampler::Naive => spec.rows.clamp(1, SIDE) * SIDE,
        Sampler::Cached => SIDE * SIDE,
    };
    for _ in 0..spec.reps.max(1) {
        let started = Instant::now();
        match spec.sampler {
            Sampler::Naive => {
                // The last `rows` rows of a blank batch: the cost of a pixel does not depend on
                // where it is, the network runs on the whole image either way.
                let blank = vec![0u8; spec.images * SIDE * SIDE];
                naive_complete(&model, &blank, None, dims, SIDE - pixels / SIDE, &mut rng);
            }
            Sampler::Cached => {
                Sampler::Cached.sample(&model, dims, None, &mut rng);
            }
        }
        outcome.reps.push(started.elapsed().as_secs_f64());
    }
    let seconds = median(&outcome.reps).context("no finite timing")?;
    outcome.pixels_timed = pixels;
    outcome.seconds_per_pixel = Some(seconds / pixels as f64);
    outcome.seconds = Some(seconds / pixels as f64 * (SIDE * SIDE) as f64);
    outcome.extrapolated = pixels < SIDE * SIDE;
    outcome.peak_rss_bytes = peak_rss_bytes();
    Ok(outcome)
}

/// One untimed forward pass at the sampling batch: parameters are initialised lazily on first use,
/// and oneDNN builds its primitives on the first convolution of each shape.
fn warm_up(model: &Model, images: usize) {
    let device = model.device();
    let zeros = TensorData::new(vec![0.0f32; images * SIDE * SIDE], [images, 1, SIDE, SIDE]);
    let logits = model.forward(Tensor::<4>::from_data(zeros, &device), None);
    let _ = logits.slice([0..1, 0..1, 0..1, 0..1]).into_data();
}
