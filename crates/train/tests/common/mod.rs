//! Helpers shared by the integration tests of `pixelcnn-train`.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard};

use pixelcnn_config::{Levels, ModelConfig, RunConfig};
use pixelcnn_record::EpochMetrics;
use pixelcnn_train::{RunObserver, StepProgress};

/// Threads every test asks for. Flex sizes rayon's global pool once per process, so a test binary
/// must always ask for the same count. One thread: the test harness already runs tests side by
/// side, and libtorch's OpenMP threads slow down by orders of magnitude when they have to share
/// the cores (measured here: a tiny model's step took 0.5 s with 2 threads on a busy 2-core
/// machine, 7 ms with 1).
pub const THREADS: usize = 1;

/// Both backends draw initial weights from one process-wide generator (libtorch's `manual_seed`,
/// flex's global RNG), and burn draws them lazily at the first forward pass. Runs that must be
/// reproducible therefore hold this lock from `Trainer::new` to the end of `run`.
static TRAINING: Mutex<()> = Mutex::new(());

/// Takes the training lock (a failed test that poisoned it does not block the others).
pub fn training_lock() -> MutexGuard<'static, ()> {
    TRAINING.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A small run on real MNIST: `blocks` residual blocks of width `hidden`, `train` training images,
/// `test` test images, no pictures, keep every checkpoint.
pub fn tiny_config(device: &str, levels: usize, seed: u64) -> RunConfig {
    let device = device.parse().expect("a device name");
    let mut config = RunConfig { seed, device, threads: THREADS, ..RunConfig::default() };
    config.data.train_limit = Some(256);
    config.data.test_limit = Some(64);
    let levels = Levels::new(levels).expect("2..=256 levels");
    config.model = ModelConfig { levels, blocks: 1, hidden: 4, first_kernel: 7, ..ModelConfig::default() };
    config.train.epochs = 3;
    config.train.batch_size = 32;
    config.train.lr = 3e-3;
    config.sample.count = 0;
    config.sample.complete = 0;
    config.checkpoint.keep_last = 100;
    config
}

/// Records every step and epoch of a run.
#[derive(Debug, Default)]
pub struct Recorder {
    /// Every step reported, in order.
    pub steps: Vec<StepProgress>,
    /// Every epoch reported, in order.
    pub epochs: Vec<EpochMetrics>,
    /// First epoch of the invocation, from `started`.
    pub first_epoch: Option<usize>,
}

impl RunObserver for Recorder {
    fn started(&mut self, start: &pixelcnn_train::RunStart) {
        self.first_epoch = Some(start.first_epoch);
    }

    fn step(&mut self, progress: &StepProgress) {
        self.steps.push(*progress);
    }

    fn epoch(
        &mut self,
        metrics: &EpochMetrics,
        _artefacts: &[pixelcnn_train::Artefact],
    ) -> Result<(), String> {
        self.epochs.push(metrics.clone());
        Ok(())
    }
}

/// The metrics with timing removed, what reruns compare bit for bit.
pub fn untimed(metrics: &[EpochMetrics]) -> Vec<EpochMetrics> {
    metrics.iter().map(EpochMetrics::without_timing).collect()
}
