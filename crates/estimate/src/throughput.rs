//! How fast this machine trains, evaluates and samples a configuration, for `plan`'s estimates:
//! what finished runs of the same model, batch, threads and device kind recorded in the store
//! when there are any; else a short timed probe when asked (`plan --probe`); else the constants
//! below, measured by `just bench` on a 2-core CPU (docs/benchmarks.md).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use pixelcnn_config::{ADDED_KEYS, DeviceSpec, ModelFamily, RunConfig, Sampler, identity_of};
use pixelcnn_record::RunStatus;
use pixelcnn_store::{RunFilter, Store};
use pixelcnn_train::{RunObserver, RunStart, StepProgress, TrainError, Trainer};
use serde_json::Value;

use crate::error::Result;

/// Training images/s of each family's seed-size model (15 blocks, h = 64; 15 gated layers of
/// 64 channels), batch 128, libtorch on a 2-core CPU (docs/benchmarks.md, "Training"). Another
/// size is scaled by its multiply-adds. A match, so that a new family does not compile without
/// its figure.
const fn cpu_reference_images_per_second(family: ModelFamily) -> f64 {
    match family {
        ModelFamily::PixelCnn => 46.0,
        ModelFamily::Gated => 22.0,
    }
}

/// Seconds per image drawn by each sampler at that reference speed (docs/benchmarks.md,
/// "Sampling": 100 images in 2.1 s cached and 8.8 min naive for the PixelCNN, 2.8 s and 19.5 min
/// for the gated one). Sampling scales with the training speed measured or assumed.
const fn cpu_reference_sample_seconds(family: ModelFamily, sampler: Sampler) -> f64 {
    match (family, sampler) {
        (ModelFamily::PixelCnn, Sampler::Cached) => 0.021,
        (ModelFamily::PixelCnn, Sampler::Naive) => 5.3,
        (ModelFamily::Gated, Sampler::Cached) => 0.028,
        (ModelFamily::Gated, Sampler::Naive) => 11.7,
    }
}
/// Assumed sustained FLOP/s of one CUDA device (not measured here: no GPU).
const CUDA_FLOPS: f64 = 20e12;
/// Evaluation is a forward pass only: about a third of a training step's work per image.
const EVAL_SPEEDUP: f64 = 3.0;

/// Where a throughput comes from, as `plan` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The (harmonic) mean over the epochs of this many finished runs in the store.
    Recorded(usize),
    /// A timed probe of a few training steps, just now.
    Probe,
    /// The documented constants.
    Assumed,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Recorded(n) => write!(f, "recorded by {n} finished run(s)"),
            Self::Probe => f.write_str("probed"),
            Self::Assumed => f.write_str("assumed"),
        }
    }
}

/// Images per second of one configuration on one device kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    /// Training images per second.
    pub train: f64,
    /// Evaluation (test and validation) images per second.
    pub eval: f64,
    /// Where the numbers come from.
    pub source: Source,
}

/// The device kind a configuration trains on here (`cpu`, `cuda`, `flex`), `auto` resolved.
pub fn device_kind(config: &RunConfig, cuda_available: bool) -> &'static str {
    match config.device {
        DeviceSpec::Auto if cuda_available => "cuda",
        DeviceSpec::Auto | DeviceSpec::Cpu => "cpu",
        DeviceSpec::Cuda(_) => "cuda",
        DeviceSpec::Flex => "flex",
    }
}

/// The device kind of a device name as runs record it (`libtorch-cpu`, `libtorch-cuda:0`, `flex`).
fn recorded_kind(name: &str) -> &'static str {
    if name.contains("cuda") {
        "cuda"
    } else if name.contains("flex") {
        "flex"
    } else {
        "cpu"
    }
}

/// What makes two runs train at the same speed: the model (as its identity sees it), the batch,
/// the threads and the device kind.
pub fn speed_key(config: &Value, device_kind: &str) -> Value {
    let identity = identity_of(config.clone(), ADDED_KEYS);
    serde_json::json!({
        "model": identity.get("model"),
        "batch": config.pointer("/train/batch_size"),
        "threads": config.get("threads"),
        "device": device_kind,
    })
}

/// Training and evaluation images of one epoch of `config`.
pub fn images_per_epoch(config: &RunConfig) -> (usize, usize) {
    let d = &config.data;
    let train = d.train_limit.unwrap_or(60_000).min(60_000 - d.validation_size);
    let eval = d.test_limit.unwrap_or(10_000).min(10_000) + d.validation_size;
    (train, eval)
}

/// The throughputs finished runs recorded, by speed key.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    by_key: BTreeMap<String, Samples>,
}

#[derive(Debug, Clone, Default)]
struct Samples {
    runs: usize,
    train: Vec<f64>,
    eval: Vec<f64>,
}

impl Recorded {
    /// Reads the epochs of every finished run in `store`.
    pub async fn load(store: &Store) -> Result<Recorded> {
        let filter = RunFilter { status: Some(RunStatus::Finished), ..RunFilter::default() };
        let devices: BTreeMap<String, String> =
            store.list_runs(&filter).await?.into_iter().filter_map(|r| Some((r.id, r.device?))).collect();
        let mut recorded = Recorded::default();
        let mut seen = std::collections::BTreeSet::new();
        for row in store.metrics(&filter).await? {
            let Some(device) = devices.get(&row.run_id) else { continue };
            let kind = recorded_kind(device);
            let Ok(config) = serde_json::from_value::<RunConfig>(row.config.clone()) else { continue };
            let m = &row.metrics;
            if !(m.images_per_second.is_finite() && m.images_per_second > 0.0 && m.seconds > 0.0) {
                continue;
            }
            let (train_images, eval_images) = images_per_epoch(&config);
            let eval_seconds = m.seconds - train_images as f64 / m.images_per_second;
            let samples = recorded.by_key.entry(speed_key(&row.config, kind).to_string()).or_default();
            if seen.insert(row.run_id.clone()) {
                samples.runs += 1;
            }
            samples.train.push(m.images_per_second);
            if eval_seconds > 0.0 {
                samples.eval.push(eval_images as f64 / eval_seconds);
            }
        }
        Ok(recorded)
    }

    /// The recorded throughput of `config` on `device_kind`, if any run like it finished.
    pub fn throughput(&self, config: &RunConfig, device_kind: &str) -> Option<Throughput> {
        let value = serde_json::to_value(config).expect("a run configuration serialises");
        let samples = self.by_key.get(&speed_key(&value, device_kind).to_string())?;
        // The harmonic mean: the rate of the mean time per image, which is what a time estimate sums.
        let mean =
            |v: &[f64]| (!v.is_empty()).then(|| v.len() as f64 / v.iter().map(|r| 1.0 / r).sum::<f64>());
        let train = mean(&samples.train)?;
        let eval = mean(&samples.eval).unwrap_or(train * EVAL_SPEEDUP);
        Some(Throughput { train, eval, source: Source::Recorded(samples.runs) })
    }
}

/// Floating-point operations of one training image (forward, and backward at twice its cost).
fn train_flops(config: &RunConfig) -> f64 {
    3.0 * 2.0 * pixelcnn_model::ModelConfig::from(&config.model).macs_per_pixel() * 784.0
}

fn reference(config: &RunConfig) -> RunConfig {
    let mut reference = RunConfig::default();
    reference.model.family = config.model.family;
    reference.model.levels = config.model.levels;
    reference
}

/// The documented constants, scaled to `config`'s size.
pub fn assumed(config: &RunConfig, device_kind: &str) -> Throughput {
    let train = if device_kind == "cuda" {
        CUDA_FLOPS / train_flops(config)
    } else {
        let at_reference = cpu_reference_images_per_second(config.model.family);
        at_reference * train_flops(&reference(config)) / train_flops(config)
    };
    Throughput { train, eval: train * EVAL_SPEEDUP, source: Source::Assumed }
}

/// Seconds to draw the pictures `config` asks for over its whole run with its sampler.
pub fn sampling_seconds(config: &RunConfig, throughput: &Throughput) -> f64 {
    let s = &config.sample;
    let epochs = config.train.epochs as f64;
    let rounds = if s.every == 0 { 1.0 } else { (epochs / s.every as f64).ceil() };
    let per_image = cpu_reference_sample_seconds(config.model.family, s.sampler);
    // The reference seconds were measured at the reference training speed of this size.
    let speed = assumed(config, "cpu").train / throughput.train;
    per_image * speed * (s.count + s.complete) as f64 * rounds
}

/// Estimated seconds to train, evaluate and sample one run at `throughput`.
pub fn run_seconds(config: &RunConfig, throughput: &Throughput) -> f64 {
    let (train, eval) = images_per_epoch(config);
    let epoch = train as f64 / throughput.train + eval as f64 / throughput.eval;
    config.train.epochs as f64 * epoch + sampling_seconds(config, throughput)
}

/// Steps a probe times after its warm-up steps.
const PROBE_STEPS: usize = 4;
const PROBE_WARMUP: usize = 1;

struct StepClock {
    started: Option<Instant>,
    stamps: Vec<Instant>,
}

impl RunObserver for StepClock {
    fn started(&mut self, _start: &RunStart) {
        self.started = Some(Instant::now());
    }

    fn step(&mut self, _progress: &StepProgress) {
        self.stamps.push(Instant::now());
    }

    fn stop_requested(&self) -> bool {
        self.stamps.len() >= PROBE_WARMUP + PROBE_STEPS
    }
}

/// Times a few training steps of `config` on its device (real data, the real trainer, nothing
/// written outside a temporary folder).
pub fn probe(config: &RunConfig) -> Result<Throughput> {
    let mut probed = config.clone();
    probed.data.train_limit = Some(config.train.batch_size * (PROBE_WARMUP + PROBE_STEPS + 1));
    probed.data.test_limit = Some(1);
    probed.data.validation_size = 0;
    probed.train.epochs = 1;
    probed.sample.count = 0;
    probed.sample.complete = 0;
    let out = tempfile::tempdir()?;
    let trainer = Trainer::new(probed, out.path())?;
    let mut clock = StepClock { started: None, stamps: Vec::new() };
    match trainer.run(&mut clock) {
        Ok(_) | Err(TrainError::Stopped(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let timed = &clock.stamps[PROBE_WARMUP.min(clock.stamps.len())..];
    let first = if PROBE_WARMUP == 0 { clock.started } else { clock.stamps.get(PROBE_WARMUP - 1).copied() };
    let (Some(first), Some(last)) = (first, timed.last()) else {
        return Ok(assumed(config, "cpu"));
    };
    let seconds = last.duration_since(first).as_secs_f64().max(1e-9);
    let train = (timed.len() * config.train.batch_size) as f64 / seconds;
    Ok(Throughput { train, eval: train * EVAL_SPEEDUP, source: Source::Probe })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_model_is_assumed_at_its_benchmarked_speed() {
        let config = RunConfig::default();
        let t = assumed(&config, "cpu");
        assert!((t.train - 46.0).abs() < 1e-9, "{t:?}");
        // 60,000 images at 46/s and 10,000 at 138/s per epoch, 100 epochs, 110 cached draws.
        let expected = 100.0 * (60_000.0 / 46.0 + 10_000.0 / 138.0) + 0.021 * 110.0;
        assert!((run_seconds(&config, &t) - expected).abs() < 1e-6, "{}", run_seconds(&config, &t));
    }

    #[test]
    fn smaller_models_are_faster_and_the_naive_sampler_slower() {
        let mut small = RunConfig::default();
        small.model.blocks = 3;
        assert!(assumed(&small, "cpu").train > 3.0 * assumed(&RunConfig::default(), "cpu").train);
        let t = assumed(&small, "cpu");
        let mut naive = small.clone();
        naive.sample.sampler = Sampler::Naive;
        assert!(sampling_seconds(&naive, &t) > 200.0 * sampling_seconds(&small, &t));
    }

    #[test]
    fn recorded_device_names_have_kinds() {
        assert_eq!(recorded_kind("libtorch-cpu"), "cpu");
        assert_eq!(recorded_kind("libtorch-cuda:1"), "cuda");
        assert_eq!(recorded_kind("flex"), "flex");
    }

    #[test]
    fn a_slower_machine_samples_slower_in_proportion() {
        let config = RunConfig::default();
        let t = assumed(&config, "cpu");
        let half = Throughput { train: t.train / 2.0, eval: t.eval / 2.0, source: Source::Probe };
        let ratio = sampling_seconds(&config, &half) / sampling_seconds(&config, &t);
        assert!((ratio - 2.0).abs() < 1e-9, "{ratio}");
    }
}
