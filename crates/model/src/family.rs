//! The model families a run can train, behind one type: [`Model`] is what training, evaluation,
//! checkpoints and both samplers take, and [`ModelConfig`] builds it, from a run configuration's
//! `[model]` section (`ModelConfig::from(&run.model)`).
//!
//! Each family has its own folder holding its module and configuration, its fused libtorch step
//! and its step of the cached sampler (`pixelcnn/`, `gated/`). A new family is one more variant of
//! the run configuration's `model.family` ([`ModelFamily`]) and of both enums here; every `match`
//! on them then fails to compile until it has the family's arm, here and in the crates that read
//! the family (identity, estimates, the report), so nothing that dispatches on it can be forgotten.

use burn::module::Module;
use burn::store::{ModuleRecord, RecordError};
use burn::tensor::{Device, Int, Tensor};
use pixelcnn_config::ModelFamily;

use crate::cached_sample::CachedStep;
use crate::gated::cached::CachedGated;
use crate::gated::{GatedPixelCnn, GatedPixelCnnConfig};
use crate::pixelcnn::cached::CachedNet;
use crate::pixelcnn::{PixelCnn, PixelCnnConfig};

/// Configuration of a [`Model`]: its family, holding that family's own configuration.
#[derive(Debug, Clone)]
pub enum ModelConfig {
    /// The seed's PixelCNN.
    PixelCnn(PixelCnnConfig),
    /// The gated PixelCNN, unconditional or label-conditional.
    Gated(GatedPixelCnnConfig),
}

/// The model a run configuration's `[model]` section describes: its `family` with that family's
/// keys, conditioned on [`Condition::classes`](pixelcnn_config::Condition::classes).
impl From<&pixelcnn_config::ModelConfig> for ModelConfig {
    fn from(m: &pixelcnn_config::ModelConfig) -> Self {
        match m.family {
            ModelFamily::PixelCnn => Self::PixelCnn(
                PixelCnnConfig::new(m.levels.get())
                    .with_blocks(m.blocks)
                    .with_hidden(m.hidden)
                    .with_first_kernel(m.first_kernel),
            ),
            ModelFamily::Gated => Self::Gated(
                GatedPixelCnnConfig::new(m.levels.get())
                    .with_layers(m.gated.layers)
                    .with_channels(m.gated.channels)
                    .with_kernel(m.gated.kernel)
                    .with_classes(m.condition.classes()),
            ),
        }
    }
}

impl ModelConfig {
    /// Builds the model with its family's initialisation.
    ///
    /// # Panics
    /// Where the family's `init` does (`levels` outside `2..=256`, an even kernel size).
    pub fn init(&self, device: &Device) -> Model {
        match self {
            Self::PixelCnn(config) => Model::PixelCnn(config.init(device)),
            Self::Gated(config) => Model::Gated(config.init(device)),
        }
    }

    /// Multiply-adds per pixel of one forward pass, masked taps counted (dense kernels compute
    /// them): what time estimates scale with.
    pub fn macs_per_pixel(&self) -> f64 {
        match self {
            Self::PixelCnn(config) => config.macs_per_pixel(),
            Self::Gated(config) => config.macs_per_pixel(),
        }
    }
}

/// A model of one family. A burn module (derived), so optimizers, gradient clipping, `valid()`
/// and device moves reach the family's parameters through it.
///
/// Checkpoints store [`Model::into_family_record`], not the derived record: burn's derive puts the
/// variant's name in front of every parameter path (`PixelCnn.input_conv.weight`), which would
/// make checkpoints written before families existed unreadable, and the checkpoint's
/// configuration names the family anyway.
#[derive(Module, Debug)]
// A few hundred bytes of handles either way, one model per run: boxing a variant buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum Model {
    /// The seed's PixelCNN.
    PixelCnn(PixelCnn),
    /// The gated PixelCNN.
    Gated(GatedPixelCnn),
}

impl From<PixelCnn> for Model {
    fn from(model: PixelCnn) -> Self {
        Self::PixelCnn(model)
    }
}

impl From<GatedPixelCnn> for Model {
    fn from(model: GatedPixelCnn) -> Self {
        Self::Gated(model)
    }
}

impl Model {
    /// Maps images `[B, 1, H, W]` with values `level / (q - 1)` in `[0, 1]` to unnormalised
    /// log-probabilities `[B, q, H, W]` of each pixel's level; the logits at a pixel depend only on
    /// the pixels before it in raster order (and, for a conditional model, on the image's class).
    /// `labels` `[B]` (classes `0..classes()`) are required by a conditional model and ignored by
    /// the others.
    ///
    /// # Panics
    /// If the model is conditional and `labels` are missing.
    pub fn forward(&self, input: Tensor<4>, labels: Option<Tensor<1, Int>>) -> Tensor<4> {
        match self {
            Self::PixelCnn(model) => model.forward(input),
            Self::Gated(model) => model.forward(input, labels),
        }
    }

    /// `q`, the number of levels a pixel takes.
    pub fn levels(&self) -> usize {
        match self {
            Self::PixelCnn(model) => model.levels,
            Self::Gated(model) => model.levels,
        }
    }

    /// The number of classes a label-conditional model is conditioned on; `None` for an
    /// unconditional model.
    pub fn classes(&self) -> Option<usize> {
        match self {
            Self::PixelCnn(_) => None,
            Self::Gated(model) => model.classes(),
        }
    }

    /// The device the model's tensors live on, read without initialising lazy parameters.
    pub fn device(&self) -> Device {
        match self {
            Self::PixelCnn(model) => model.device(),
            Self::Gated(model) => model.device(),
        }
    }

    /// The parameters as the family's module records them, paths without the variant's name:
    /// what a checkpoint stores.
    pub fn into_family_record(self) -> ModuleRecord {
        match self {
            Self::PixelCnn(model) => model.into_record(),
            Self::Gated(model) => model.into_record(),
        }
    }

    /// Loads parameters saved by [`Model::into_family_record`] (or, before families existed, by
    /// the family's module itself) into this model of the same family and shapes.
    pub fn try_load_family_record(self, record: ModuleRecord) -> Result<Self, RecordError> {
        match self {
            Self::PixelCnn(model) => model.try_load_record(record).map(Self::PixelCnn),
            Self::Gated(model) => model.try_load_record(record).map(Self::Gated),
        }
    }

    /// The cached sampler's network for a batch of `dims` (`[n, height, width]`) images of the
    /// classes `labels` (conditional models), seeded with the known rows `0..start_row` of
    /// `levels`; `self` should be an inference copy.
    pub(crate) fn cached(
        &self,
        levels: &[u8],
        labels: Option<&[u8]>,
        dims: [usize; 3],
        start_row: usize,
    ) -> Box<dyn CachedStep> {
        match self {
            Self::PixelCnn(model) => Box::new(CachedNet::new(model, levels, dims, start_row)),
            Self::Gated(model) => Box::new(CachedGated::new(model, levels, labels, dims, start_row)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tensor};
    use pixelcnn_config::{Condition, GatedKeys, Levels};

    fn tiny() -> PixelCnn {
        PixelCnnConfig::new(3).with_blocks(2).with_hidden(4).init(&Device::flex())
    }

    /// A checkpoint's model section is what the bare PixelCNN recorded before families existed,
    /// byte for byte, and such a record loads into a [`Model`] with the same logits.
    #[test]
    fn family_records_are_the_family_modules_records() {
        let pixelcnn = tiny();
        let input = Tensor::<4>::random([2, 1, 5, 4], Distribution::Default, &pixelcnn.device());
        let expected = pixelcnn.forward(input.clone()).try_into_vec_as::<f32>().unwrap();
        let bare = pixelcnn.clone().into_record().into_bytes().unwrap();
        let model = Model::from(pixelcnn);
        assert_eq!(model.clone().into_family_record().into_bytes().unwrap(), bare);

        let fresh = ModelConfig::PixelCnn(PixelCnnConfig::new(3).with_blocks(2).with_hidden(4));
        let record = ModuleRecord::from_bytes(bare).unwrap();
        let loaded = fresh.init(&Device::flex()).try_load_family_record(record).unwrap();
        assert_eq!(loaded.forward(input, None).try_into_vec_as::<f32>().unwrap(), expected);
        // The derived record is not the checkpoint's: its paths carry the variant's name.
        let derived = ModuleRecord::from_bytes(model.into_record().into_bytes().unwrap()).unwrap();
        assert!(tiny().try_load_record(derived).is_err());
    }

    /// A run configuration's `[model]` builds its family with that family's keys; the default
    /// section is the seed's model.
    #[test]
    fn run_configurations_build_their_family() {
        let mut m = pixelcnn_config::ModelConfig::default();
        let ModelConfig::PixelCnn(seed) = ModelConfig::from(&m) else {
            panic!("the default is the PixelCNN")
        };
        assert_eq!((seed.levels, seed.blocks, seed.hidden, seed.first_kernel), (2, 15, 64, 7));

        (m.levels, m.blocks, m.hidden, m.first_kernel) = (Levels::new(5).unwrap(), 1, 2, 3);
        let ModelConfig::PixelCnn(c) = ModelConfig::from(&m) else { panic!("still the PixelCNN") };
        assert_eq!((c.levels, c.blocks, c.hidden, c.first_kernel), (5, 1, 2, 3));

        m.family = ModelFamily::Gated;
        m.gated = GatedKeys { layers: 2, channels: 4, kernel: 5 };
        let ModelConfig::Gated(c) = ModelConfig::from(&m) else { panic!("the gated family") };
        assert_eq!((c.levels, c.layers, c.channels, c.kernel, c.classes), (5, 2, 4, 5, None));
        m.condition = Condition::Label;
        let model = ModelConfig::from(&m).init(&Device::flex());
        assert_eq!((model.levels(), model.classes()), (5, Some(10)));
    }

    #[test]
    fn the_model_answers_for_its_family() {
        let config = ModelConfig::PixelCnn(PixelCnnConfig::new(5).with_blocks(1).with_hidden(2));
        let model = config.init(&Device::flex());
        assert_eq!(model.levels(), 5);
        let input = Tensor::<4>::random([1, 1, 3, 3], Distribution::Default, &model.device());
        assert_eq!(model.forward(input, None).dims(), [1, 5, 3, 3]);
        assert_eq!(
            config.macs_per_pixel(),
            PixelCnnConfig::new(5).with_blocks(1).with_hidden(2).macs_per_pixel()
        );
    }
}
