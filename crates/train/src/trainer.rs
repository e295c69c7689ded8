//! One training run, start to finish: the seed's loop (per-step LR decay applied before the step,
//! global-norm clipping, Keras Adam), exact evaluation after every epoch, sampling at the configured
//! cadence and an atomic checkpoint at every epoch end from which the run resumes bit for bit.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Bytes, Device, Tensor};
use pixelcnn_config::{RunConfig, first_identity_difference};
use pixelcnn_data::{DataLimits, Mnist, QuantisedSplit};
use pixelcnn_model::{Model, ModelConfig, nll_per_pixel};
use pixelcnn_record::{ArtefactKind, EpochMetrics, best_epoch, bits_per_dim};

use crate::checkpoint::{self, Checkpoint, CheckpointHeader, EpochProgress, RunPosition, STEP_CHECKPOINT};
use crate::device::{self, SelectedDevice};
use crate::error::{Result, TrainError};
use crate::evaluate::mean_nll;
use crate::observer::{Artefact, RunObserver, RunStart, StepProgress};
use crate::optim::{KerasAdam, clip_global_norm};
use crate::preflight::data_dir;
use crate::sampling;

/// Steps between reads of the training loss (each read waits for the device).
const LOSS_READ_EVERY: usize = 10;

/// The data of a run, quantised once.
struct RunData {
    train: QuantisedSplit,
    validation: Option<QuantisedSplit>,
    test: QuantisedSplit,
    checksums: Vec<(String, String)>,
}

/// A run ready to train, fresh or resumed from a checkpoint.
pub struct Trainer {
    config: RunConfig,
    out_dir: PathBuf,
    selected: SelectedDevice,
    train_device: Device,
    model: Model,
    optimizer: ModuleOptimizer,
    position: RunPosition,
    data: RunData,
}

impl Trainer {
    /// Sets up a fresh run writing into `out_dir`.
    pub fn new(config: RunConfig, out_dir: &Path) -> Result<Self> {
        let selected = device::select(config.device, config.threads)?;
        let train_device = selected.device.clone().autodiff();
        // Initialisation draws from the backend's generator: seed it first.
        train_device.seed(config.seed);
        let model = ModelConfig::from(&config.model).init(&train_device);
        let t = &config.train;
        let optimizer = KerasAdam::module_optimizer(t.beta1, t.beta2, t.epsilon);
        let position =
            RunPosition { epoch: 0, step: 0, lr: t.lr, best: None, history: Vec::new(), within_epoch: None };
        let data = load_data(&config)?;
        Ok(Self {
            config,
            out_dir: out_dir.to_owned(),
            selected,
            train_device,
            model,
            optimizer,
            position,
            data,
        })
    }

    /// Resumes from a checkpoint. `config` must differ from the checkpoint's only in keys that do
    /// not change the numbers (epochs, sampling, checkpoint retention, device, threads).
    pub fn resume(path: &Path, config: RunConfig, out_dir: &Path) -> Result<Self> {
        let ckpt = Checkpoint::read(path)?;
        if let Some(key) = first_identity_difference(&ckpt.header.config, &config) {
            return Err(TrainError::Checkpoint {
                path: path.to_owned(),
                message: format!(
                    "`{key}` differs from the checkpoint's; resuming would not continue the same run"
                ),
            });
        }
        let mut trainer = Self::new(config, out_dir)?;
        trainer.model = ckpt.model(path, &trainer.train_device)?;
        let bad = |message: String| TrainError::Checkpoint { path: path.to_owned(), message };
        trainer.optimizer = trainer
            .optimizer
            .from_bytes(Bytes::from_bytes_vec(ckpt.optimizer))
            .map_err(|e| bad(format!("optimizer: {e}")))?;
        trainer.position = ckpt.header.position;
        Ok(trainer)
    }

    /// The resolved configuration.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// Trains the remaining epochs, reporting to `observer` (which may end the run early after an
    /// epoch). Returns every epoch's metrics (those of earlier invocations included, when resumed).
    pub fn run(mut self, observer: &mut dyn RunObserver) -> Result<Vec<EpochMetrics>> {
        let dir = self.out_dir.join("checkpoints");
        std::fs::create_dir_all(&dir).map_err(|source| TrainError::Io { path: dir.clone(), source })?;
        let batch_size = self.config.train.batch_size;
        let steps_per_epoch = self.data.train.len().div_ceil(batch_size);
        observer.started(&RunStart {
            device: self.selected.info.clone(),
            params: self.model.num_params(),
            train_images: self.data.train.len(),
            validation_images: self.data.validation.as_ref().map_or(0, QuantisedSplit::len),
            test_images: self.data.test.len(),
            steps_per_epoch,
            first_epoch: self.position.epoch + 1,
            data_checksums: self.data.checksums.clone(),
        });
        for epoch in self.position.epoch + 1..=self.config.train.epochs {
            let metrics = self.train_epoch(epoch, steps_per_epoch, observer)?;
            observer.may_write().map_err(TrainError::Stopped)?;
            let mut artefacts = self.sample_if_due(metrics.epoch)?;
            // Sampling can take minutes: ask again right before the checkpoint.
            observer.may_write().map_err(TrainError::Stopped)?;
            artefacts.push(self.save_checkpoint(&dir, &metrics)?);
            remove_step_checkpoint(&dir)?;
            observer.epoch(&metrics, &artefacts).map_err(TrainError::Stopped)?;
            let best = self.position.best.as_ref().map(|b| b.epoch);
            let pruned = checkpoint::prune(&dir, &self.config.checkpoint, best)?;
            if !pruned.is_empty() {
                observer.pruned(&pruned);
            }
            if observer.ended_early() {
                break;
            }
        }
        Ok(self.position.history)
    }

    fn train_epoch(
        &mut self,
        epoch: usize,
        steps: usize,
        observer: &mut dyn RunObserver,
    ) -> Result<EpochMetrics> {
        let started = Instant::now();
        let t = self.config.train.clone();
        let order = self.data.train.epoch_order(self.config.seed, epoch - 1);
        let (h, w) = self.data.train.shape();
        // Resumed from a step checkpoint: the epoch goes on where it stopped.
        let resumed = self.position.within_epoch.take();
        let first_step = resumed.as_ref().map_or(0, |p| p.steps);
        let mut loss_sum: Option<Tensor<1>> =
            resumed.map(|p| Tensor::from_floats([p.loss_sum as f32], &self.train_device).detach());
        let mut last_loss = f64::NAN;
        for (i, chunk) in order.chunks(t.batch_size).enumerate().skip(first_step) {
            if observer.stop_requested() {
                if i > first_step {
                    self.save_step_checkpoint(epoch, i, loss_sum.clone(), observer)?;
                }
                return Err(TrainError::Stopped("interrupted".into()));
            }
            // The seed multiplies the rate before each step: step 1 already uses lr x decay.
            self.position.lr *= t.lr_decay;
            self.position.step += 1;
            let batch = self.data.train.batch(chunk, &self.train_device);
            let loss = nll_per_pixel(self.model.forward(batch.inputs, Some(batch.labels)), batch.targets);
            let weighted = loss.clone().detach().mul_scalar(chunk.len() as f64);
            loss_sum = Some(match loss_sum.take() {
                Some(sum) => sum + weighted,
                None => weighted,
            });
            let grads = GradientsParams::from_grads(loss.backward(), &self.model);
            let (grads, _norm) = clip_global_norm(grads, &self.model, t.clip_norm);
            self.model = self.optimizer.step(self.position.lr, self.model.clone(), grads);
            if (i + 1) % LOSS_READ_EVERY == 0 || i + 1 == steps {
                let seen = order.len().min((i + 1) * t.batch_size);
                let sum = loss_sum.clone().expect("one step done").into_scalar::<f64>();
                last_loss = sum / seen as f64;
                if !last_loss.is_finite() {
                    return Err(TrainError::Diverged {
                        epoch,
                        step: self.position.step,
                        loss: last_loss,
                        lr: t.lr,
                        clip_norm: t.clip_norm,
                    });
                }
            }
            observer.step(&StepProgress {
                epoch,
                epochs: t.epochs,
                step_in_epoch: i + 1,
                steps_per_epoch: steps,
                loss: last_loss,
                images_per_second: (((i - first_step) * t.batch_size + chunk.len()) as f64)
                    / started.elapsed().as_secs_f64(),
            });
        }
        let train_seconds = started.elapsed().as_secs_f64();
        let model = self.model.valid();
        let device = &self.selected.device;
        let test_nll = mean_nll(&model, &self.data.test, t.batch_size, device);
        let validation_nll = self.data.validation.as_ref().map(|v| mean_nll(&model, v, t.batch_size, device));
        let metrics = EpochMetrics {
            epoch: u32::try_from(epoch).expect("epochs fit in u32"),
            step: self.position.step,
            train_nll: last_loss,
            validation_nll,
            test_nll,
            test_bits_per_dim: bits_per_dim(test_nll),
            test_nats_per_image: test_nll * (h * w) as f64,
            lr: self.position.lr,
            seconds: started.elapsed().as_secs_f64(),
            // Only the images this invocation trained (a resumed epoch started part-way).
            images_per_second: order.len().saturating_sub(first_step * t.batch_size) as f64 / train_seconds,
        };
        self.position.epoch = epoch;
        self.position.history.push(metrics.clone());
        let best = best_epoch(&self.position.history).map(|b| b.epoch);
        self.position.best = self.position.history.iter().find(|m| Some(m.epoch) == best).cloned();
        Ok(metrics)
    }

    fn sample_if_due(&self, epoch: u32) -> Result<Vec<Artefact>> {
        let s = &self.config.sample;
        let n = epoch as usize;
        let due = n == self.config.train.epochs || (s.every > 0 && n.is_multiple_of(s.every));
        if !due {
            return Ok(Vec::new());
        }
        let model = self.model.valid();
        let files = sampling::SampleRequest {
            seed: self.config.seed,
            epoch,
            count: s.count,
            complete: s.complete,
            occlude_from_row: s.occlude_from_row,
            sampler: s.sampler,
            label: None,
        }
        .run(&model, &self.data.test)?;
        let dir = self.out_dir.join("samples");
        files.write(&dir, epoch)
    }

    fn save_checkpoint(&self, dir: &Path, metrics: &EpochMetrics) -> Result<Artefact> {
        let path = dir.join(checkpoint::file_name(metrics.epoch));
        self.write_checkpoint(&path, self.position.clone())?;
        Ok(Artefact { kind: ArtefactKind::Checkpoint, epoch: metrics.epoch, path })
    }

    /// Writes the step checkpoint of a run stopped after `steps` steps of `epoch`, unless the
    /// observer forbids writing (a worker whose run was taken over).
    fn save_step_checkpoint(
        &self,
        epoch: usize,
        steps: usize,
        loss_sum: Option<Tensor<1>>,
        observer: &mut dyn RunObserver,
    ) -> Result<()> {
        observer.may_write().map_err(TrainError::Stopped)?;
        let loss_sum = loss_sum.map_or(0.0, |sum| sum.into_scalar::<f64>());
        let position =
            RunPosition { within_epoch: Some(EpochProgress { steps, loss_sum }), ..self.position.clone() };
        debug_assert_eq!(position.epoch + 1, epoch);
        self.write_checkpoint(&self.out_dir.join("checkpoints").join(STEP_CHECKPOINT), position)
    }

    fn write_checkpoint(&self, path: &Path, position: RunPosition) -> Result<()> {
        let bad = |message: String| TrainError::Checkpoint { path: path.to_owned(), message };
        let model = self.model.clone().into_family_record().into_bytes().map_err(|e| bad(e.to_string()))?;
        let optimizer = self.optimizer.into_bytes().map_err(|e| bad(e.to_string()))?;
        Checkpoint {
            header: CheckpointHeader { config: self.config.clone(), position },
            model: model.to_vec(),
            optimizer: optimizer.to_vec(),
        }
        .write(path)
    }
}

/// Deletes the step checkpoint of `dir`, if any: the epoch it belongs to now has its own.
fn remove_step_checkpoint(dir: &Path) -> Result<()> {
    let path = dir.join(STEP_CHECKPOINT);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(TrainError::Io { path, source: e }),
        _ => Ok(()),
    }
}

fn load_data(config: &RunConfig) -> Result<RunData> {
    let dir = data_dir(config);
    let limits = DataLimits {
        train_limit: config.data.train_limit,
        test_limit: config.data.test_limit,
        validation_size: config.data.validation_size,
    };
    let mnist = Mnist::load(&dir, &limits)?;
    let levels = config.model.levels;
    Ok(RunData {
        train: QuantisedSplit::new(&mnist.train, levels),
        validation: mnist.validation.as_ref().map(|v| QuantisedSplit::new(v, levels)),
        test: QuantisedSplit::new(&mnist.test, levels),
        checksums: mnist.checksums,
    })
}

/// Parameters of the model a configuration describes, masked taps included. Cheap: burn creates
/// parameters lazily, so nothing is drawn.
pub fn model_params(config: &RunConfig) -> usize {
    #[cfg(feature = "flex")]
    let device = Device::flex();
    #[cfg(not(feature = "flex"))]
    #[allow(deprecated)] // burn 0.22 marks libtorch deprecated; it is our main backend
    let device = Device::libtorch();
    ModelConfig::from(&config.model).init(&device).num_params()
}
