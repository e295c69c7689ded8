//! One run's configuration. Every default is the seed notebook's recipe, so an empty file trains the
//! seed's model the seed's way; experiment files and `--set` only say what differs.

use std::path::PathBuf;

use pixelcnn_record::Retention;
use serde::{Deserialize, Serialize};

use crate::device::DeviceSpec;
use crate::levels::Levels;
use crate::sampler::Sampler;

/// Everything that defines one training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Seed of every random stream of the run: initialisation, shuffling and sampling.
    pub seed: u64,
    /// Where to train: `auto`, `cpu`, `cuda`, `cuda:N` or `flex`.
    pub device: DeviceSpec,
    /// Intra-op threads; 0 means one per available core. Fixed per run for reproducibility.
    pub threads: usize,
    /// Which data and how much of it.
    pub data: DataConfig,
    /// The network.
    pub model: ModelConfig,
    /// The optimisation recipe.
    pub train: TrainConfig,
    /// What to sample and when.
    pub sample: SampleConfig,
    /// Which checkpoints to keep.
    pub checkpoint: Retention,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            device: DeviceSpec::Auto,
            threads: 0,
            data: DataConfig::default(),
            model: ModelConfig::default(),
            train: TrainConfig::default(),
            sample: SampleConfig::default(),
            checkpoint: Retention::default(),
        }
    }
}

/// Data selection. The seed trains on all 60,000 images and tests on all 10,000.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Folder holding the four standard IDX files (raw or .gz); default: the cache's `mnist/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// Use only the first N training images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_limit: Option<usize>,
    /// Use only the first N test images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_limit: Option<usize>,
    /// Hold out the last N training images for validation (0: none, as in the seed).
    pub validation_size: usize,
}

/// The network. Defaults: the seed's PixelCNN, 15 residual blocks with h = 64, unconditional.
///
/// Each family reads its own keys: the PixelCNN `blocks`, `hidden` and `first_kernel` (directly in
/// `[model]`, where they were before families existed), the gated PixelCNN those of
/// `[model.gated]`. A run's identity holds only its own family's keys, so setting another
/// family's keys (as a sweep over both families does) changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Which network: `pixelcnn` (the seed's) or `gated` (the gated PixelCNN). Files, checkpoints
    /// and stored runs from before the key existed leave it out and get the default, the family
    /// they trained.
    pub family: ModelFamily,
    /// Quantisation levels q (2..=256); the output has q logits per pixel.
    pub levels: Levels,
    /// What the model is conditioned on besides earlier pixels: `none`, or `label` (the digit's
    /// class; the gated family only).
    pub condition: Condition,
    /// PixelCNN: residual blocks n.
    pub blocks: usize,
    /// PixelCNN: hidden width h; the residual stream carries 2h channels.
    pub hidden: usize,
    /// PixelCNN: kernel of the first, mask-A convolution (odd).
    pub first_kernel: usize,
    /// The gated PixelCNN's keys, `[model.gated]`.
    pub gated: GatedKeys,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            family: ModelFamily::default(),
            levels: Levels::new(2).expect("2 levels"),
            condition: Condition::default(),
            blocks: 15,
            hidden: 64,
            first_kernel: 7,
            gated: GatedKeys::default(),
        }
    }
}

pixelcnn_record::named_enum! {
    /// The family of network a run trains, `model.family` (each is a module of `pixelcnn_model`).
    ///
    /// An enum rather than a string so that an unknown name is rejected while the configuration is
    /// read, with a message that names the key and lists the valid names. Every crate that depends
    /// on the family (the model's constructor, identity, estimates, the report) matches on it, so a
    /// new variant fails to compile until each of them handles it.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum ModelFamily ("model family") {
        /// `pixelcnn`: the seed's PixelCNN (van den Oord et al., 2016), a mask-A convolution, residual
        /// blocks around mask-B convolutions and a 1x1 head.
        #[default]
        PixelCnn = "pixelcnn",
        /// `gated`: the gated PixelCNN (van den Oord et al., 2016, "Conditional Image Generation with
        /// PixelCNN Decoders"): vertical and horizontal stacks without the blind spot, gated
        /// tanh x sigmoid units, residual connections in the horizontal stack; keys in `[model.gated]`.
        Gated = "gated",
    }
}

pixelcnn_record::named_enum! {
    /// What a model is conditioned on besides the pixels before the current one, `model.condition`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Condition ("condition") {
        /// `none`: p(x), the seed's unconditional model.
        #[default]
        None = "none",
        /// `label`: p(x | class), the digit's class (0-9) as a learned bias of every gated layer;
        /// training and evaluation use the data's labels, sampling draws the classes asked for.
        Label = "label",
    }
}

/// MNIST's classes, the digits 0-9: what `condition = "label"` conditions on.
pub const LABEL_CLASSES: usize = 10;

impl Condition {
    /// The number of classes a model so conditioned takes; `None` for an unconditional one.
    pub const fn classes(self) -> Option<usize> {
        match self {
            Condition::None => None,
            Condition::Label => Some(LABEL_CLASSES),
        }
    }
}

/// `[model.gated]`: the size of a gated PixelCNN. The defaults give 1.25 million parameters at
/// q = 256, of the order of the seed's PixelCNN (0.86 million).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatedKeys {
    /// Gated layers (the first masks the current pixel and has no residual connection).
    pub layers: usize,
    /// Channels of both stacks; each gate takes 2x as many pre-activations.
    pub channels: usize,
    /// Kernel size n (odd): the vertical stack sees an n-wide window of the rows above, the
    /// horizontal stack the n / 2 pixels to the left.
    pub kernel: usize,
}

impl Default for GatedKeys {
    fn default() -> Self {
        Self { layers: 15, channels: 64, kernel: 3 }
    }
}

/// Optimisation. Defaults: Keras Adam, per-step LR decay and global-norm clipping as in the seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per step.
    pub batch_size: usize,
    /// Initial learning rate.
    pub lr: f64,
    /// Factor applied to the learning rate before every step (so step 1 uses lr x decay).
    pub lr_decay: f64,
    /// Adam's first-moment decay.
    pub beta1: f64,
    /// Adam's second-moment decay.
    pub beta2: f64,
    /// Adam's epsilon, added to the uncorrected sqrt(v) as Keras does.
    pub epsilon: f64,
    /// Largest global gradient norm; larger gradients are scaled down together.
    pub clip_norm: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 100,
            batch_size: 128,
            lr: 1e-3,
            lr_decay: 0.999_995,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
            clip_norm: 1.0,
        }
    }
}

/// Sampling: the seed's two demos, a 10x10 grid from scratch and the completion of occluded test images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SampleConfig {
    /// Sample every N epochs; 0 samples only after the last epoch (a full-size grid is expensive).
    pub every: usize,
    /// Images drawn from scratch (shown as a grid of 10 per row).
    pub count: usize,
    /// Test images to complete (the first N of the test set).
    pub complete: usize,
    /// First occluded row of the completion demo.
    pub occlude_from_row: usize,
    /// Which sampler draws the pictures: `cached` (each layer computed once per pixel from cached
    /// activations, hundreds of times faster) or `naive` (the whole network once per pixel, the
    /// reference). Both draw the same images for a seed, up to floating-point rounding at class
    /// boundaries.
    pub sampler: Sampler,
}

impl Default for SampleConfig {
    fn default() -> Self {
        Self { every: 0, count: 100, complete: 10, occlude_from_row: 14, sampler: Sampler::default() }
    }
}
