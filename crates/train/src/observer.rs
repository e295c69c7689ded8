//! What a run tells the outside world while it trains. The single-run CLI prints it; the sweep
//! worker writes it to the store. Training itself formats nothing.

use std::path::PathBuf;

use pixelcnn_record::{ArtefactKind, EpochMetrics};
use serde::{Deserialize, Serialize};

use crate::device::DeviceInfo;

/// Facts known once the run is set up.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunStart {
    /// Where it trains.
    pub device: DeviceInfo,
    /// Parameters of the model, masked taps included (as Keras counts them).
    pub params: usize,
    /// Training images per epoch.
    pub train_images: usize,
    /// Validation images (0 without a split).
    pub validation_images: usize,
    /// Test images.
    pub test_images: usize,
    /// Steps per epoch.
    pub steps_per_epoch: usize,
    /// First epoch this invocation trains (1 unless resumed).
    pub first_epoch: usize,
    /// SHA-256 of each data file read, by standard name.
    pub data_checksums: Vec<(String, String)>,
}

/// Progress within an epoch.
#[derive(Debug, Clone, Copy)]
pub struct StepProgress {
    /// Current epoch, from 1.
    pub epoch: usize,
    /// Epochs in the run.
    pub epochs: usize,
    /// Steps done in this epoch.
    pub step_in_epoch: usize,
    /// Steps in an epoch.
    pub steps_per_epoch: usize,
    /// Most recently read training loss (nats/pixel).
    pub loss: f64,
    /// Training images per second in this epoch so far.
    pub images_per_second: f64,
}

/// A file written by the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artefact {
    /// What it is.
    pub kind: ArtefactKind,
    /// Epoch it belongs to.
    pub epoch: u32,
    /// Where it is.
    pub path: PathBuf,
}

/// Receives a run's events. Returning an error from [`RunObserver::epoch`] stops the run after that
/// epoch's checkpoint is safely written.
pub trait RunObserver {
    /// The run is set up and about to train.
    fn started(&mut self, _start: &RunStart) {}
    /// A step finished.
    fn step(&mut self, _progress: &StepProgress) {}
    /// An epoch finished: its metrics and the files it produced.
    fn epoch(&mut self, _metrics: &EpochMetrics, _artefacts: &[Artefact]) -> Result<(), String> {
        Ok(())
    }
    /// Asked before the run writes an epoch's files (pictures, checkpoint): an error stops the run
    /// without writing them (a sweep worker whose run was taken over by another worker).
    fn may_write(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// Checkpoints deleted by retention.
    fn pruned(&mut self, _paths: &[PathBuf]) {}
    /// Polled between steps: when true the run stops at once; it resumes from its last checkpoint.
    fn stop_requested(&self) -> bool {
        false
    }
    /// Asked after each epoch is recorded: when true the run ends there, complete, without the
    /// epochs it had left (an adaptive search stopped it at a rung: more epochs would be wasted).
    fn ended_early(&self) -> bool {
        false
    }
}

/// An observer that ignores everything (tests, library use).
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl RunObserver for Silent {}

/// Two observers as one: each event goes to both, in order; the run stops when either asks
/// (`pixelcnn train` pairs its console with the store's recorder).
#[derive(Debug)]
pub struct Both<A, B>(pub A, pub B);

impl<A: RunObserver, B: RunObserver> RunObserver for Both<A, B> {
    fn started(&mut self, start: &RunStart) {
        self.0.started(start);
        self.1.started(start);
    }
    fn step(&mut self, progress: &StepProgress) {
        self.0.step(progress);
        self.1.step(progress);
    }
    fn epoch(&mut self, metrics: &EpochMetrics, artefacts: &[Artefact]) -> Result<(), String> {
        // Both see the epoch even when the first objects: its row is in the metrics file and the
        // store alike, and the first error stops the run.
        let first = self.0.epoch(metrics, artefacts);
        let second = self.1.epoch(metrics, artefacts);
        first.and(second)
    }
    fn may_write(&mut self) -> Result<(), String> {
        self.0.may_write()?;
        self.1.may_write()
    }
    fn pruned(&mut self, paths: &[PathBuf]) {
        self.0.pruned(paths);
        self.1.pruned(paths);
    }
    fn stop_requested(&self) -> bool {
        self.0.stop_requested() || self.1.stop_requested()
    }
    fn ended_early(&self) -> bool {
        self.0.ended_early() || self.1.ended_early()
    }
}

/// An observer lent to a combinator such as [`Both`].
impl<T: RunObserver + ?Sized> RunObserver for &mut T {
    fn started(&mut self, start: &RunStart) {
        (**self).started(start);
    }
    fn step(&mut self, progress: &StepProgress) {
        (**self).step(progress);
    }
    fn epoch(&mut self, metrics: &EpochMetrics, artefacts: &[Artefact]) -> Result<(), String> {
        (**self).epoch(metrics, artefacts)
    }
    fn may_write(&mut self) -> Result<(), String> {
        (**self).may_write()
    }
    fn pruned(&mut self, paths: &[PathBuf]) {
        (**self).pruned(paths);
    }
    fn stop_requested(&self) -> bool {
        (**self).stop_requested()
    }
    fn ended_early(&self) -> bool {
        (**self).ended_early()
    }
}
