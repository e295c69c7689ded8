//! The seed's two sampling demos for a trained model: a grid of images drawn from scratch, and the
//! first test images with their lower rows occluded, completed by the model. Both draw from the
//! run's seeded streams, so the same checkpoint and seed give the same pictures, with either
//! sampler (up to floating-point rounding at class boundaries).
//!
//! A label-conditional model draws one row per class (class 0 at the top), unless one class is
//! asked for, and completes each test image given its own class.

use std::path::Path;

use pixelcnn_config::Sampler;
use pixelcnn_data::QuantisedSplit;
use pixelcnn_model::{Draw, Model};
use pixelcnn_record::ArtefactKind;

use crate::error::{Result, TrainError};
use crate::images::grid_png;
use crate::observer::Artefact;
use crate::rng::{Stream, stream};

/// Images per row of the sample grid (the seed's 10x10 figure).
const PER_ROW: usize = 10;

/// What to draw, and with which streams.
#[derive(Debug, Clone, Copy)]
pub struct SampleRequest {
    /// Run seed.
    pub seed: u64,
    /// Epoch whose streams to use.
    pub epoch: u32,
    /// Images from scratch (0: none).
    pub count: usize,
    /// Test images to complete (0: none).
    pub complete: usize,
    /// First occluded row.
    pub occlude_from_row: usize,
    /// Which sampler draws (the run configuration's `sample.sampler`; cached by default).
    pub sampler: Sampler,
    /// A conditional model's class for every picture (`pixelcnn sample --label`); `None`: one row
    /// of samples per class, and each completion from its test image's class.
    pub label: Option<u8>,
}

/// Rendered pictures, PNG bytes.
#[derive(Debug, Clone, Default)]
pub struct SampleFiles {
    /// Grid of images from scratch.
    pub samples: Option<Vec<u8>>,
    /// Occluded inputs (top row) above their completions (bottom row).
    pub completion: Option<Vec<u8>>,
}

impl SampleRequest {
    /// Draws with `model` (an inference copy); `test` supplies the images to complete (and their
    /// classes).
    ///
    /// A conditional model's sample grid has one row per class, each of `count / classes` images
    /// rounded up (the first `count` classes, one image each, when `count` is smaller than the
    /// number of classes); with `label` every image is of that class, 10 per row.
    ///
    /// # Errors
    /// A `label` for an unconditional model, or one it has no class for.
    pub fn run(&self, model: &Model, test: &QuantisedSplit) -> Result<SampleFiles> {
        let (h, w) = test.shape();
        let q = model.levels();
        let classes = model.classes();
        if let Some(label) = self.label {
            let reason = match classes {
                None => Some(
                    "the model is unconditional (model.condition = \"none\"); it draws no chosen class"
                        .into(),
                ),
                Some(k) if usize::from(label) >= k => {
                    Some(format!("the model knows the classes 0 to {}", k - 1))
                }
                Some(_) => None,
            };
            if let Some(reason) = reason {
                return Err(TrainError::BadLabel { label, reason });
            }
        }
        let sampler = self.sampler;
        let samples = (self.count > 0).then(|| {
            let (labels, per_row) = self.sample_labels(classes);
            let n = labels.as_ref().map_or(self.count, Vec::len);
            let mut rng = stream(self.seed, Stream::Samples, self.epoch as usize);
            let levels = sampler.sample(model, [n, h, w], labels.as_deref(), &mut rng);
            grid_png(&levels, [n, h, w], q, per_row)
        });
        let n = self.complete.min(test.len());
        let completion = (n > 0).then(|| {
            let originals: Vec<u8> = (0..n).flat_map(|i| test.image(i).iter().copied()).collect();
            let labels: Option<Vec<u8>> =
                classes.map(|_| (0..n).map(|i| self.label.unwrap_or_else(|| test.label(i))).collect());
            let mut rng = stream(self.seed, Stream::Completion, self.epoch as usize);
            let dims = [n, h, w];
            let completed =
                sampler.complete(model, &originals, labels.as_deref(), dims, self.occlude_from_row, &mut rng);
            let mut occluded = originals;
            for image in occluded.chunks_mut(h * w) {
                image[self.occlude_from_row * w..].fill(0);
            }
            occluded.extend_from_slice(&completed);
            grid_png(&occluded, [2 * n, h, w], q, n)
        });
        Ok(SampleFiles { samples, completion })
    }

    /// The classes of the sample grid's images and the images per row: `None` and 10 for an
    /// unconditional model; for a conditional one with `classes` classes, one row per class, or
    /// `label` for all, 10 per row.
    fn sample_labels(&self, classes: Option<usize>) -> (Option<Vec<u8>>, usize) {
        match (classes, self.label) {
            (None, _) => (None, PER_ROW),
            (Some(_), Some(label)) => (Some(vec![label; self.count]), PER_ROW),
            (Some(classes), None) => {
                let per_class = self.count.div_ceil(classes);
                let drawn = self.count.min(classes);
                let labels =
                    (0..drawn).flat_map(|class| std::iter::repeat_n(class as u8, per_class)).collect();
                (Some(labels), per_class)
            }
        }
    }
}

impl SampleFiles {
    /// Writes the pictures into `dir` as `samples-epoch-NNNN.png` and `completion-epoch-NNNN.png`.
    pub fn write(&self, dir: &Path, epoch: u32) -> Result<Vec<Artefact>> {
        std::fs::create_dir_all(dir).map_err(|source| TrainError::Io { path: dir.to_owned(), source })?;
        let mut artefacts = Vec::new();
        for (kind, bytes) in
            [(ArtefactKind::Samples, &self.samples), (ArtefactKind::Completion, &self.completion)]
        {
            let Some(bytes) = bytes else { continue };
            let path = dir.join(format!("{kind}-epoch-{epoch:04}.png"));
            std::fs::write(&path, bytes).map_err(|source| TrainError::Io { path: path.clone(), source })?;
            artefacts.push(Artefact { kind, epoch, path });
        }
        Ok(artefacts)
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;
    use pixelcnn_config::DeviceSpec;
    use pixelcnn_model::{GatedPixelCnnConfig, PixelCnnConfig};

    use super::*;
    use crate::device;

    /// The devices of this build, one thread each (the test harness runs tests side by side).
    fn devices() -> Vec<Device> {
        let mut specs = Vec::new();
        if cfg!(feature = "tch") {
            specs.push(DeviceSpec::Cpu);
        }
        if cfg!(feature = "flex") {
            specs.push(DeviceSpec::Flex);
        }
        specs.into_iter().map(|spec| device::select(spec, 1).expect("device").device).collect()
    }

    /// On every backend of the build, the cached sampler draws the naive sampler's images, for
    /// the seed's PixelCNN and for a label-conditional gated PixelCNN.
    #[test]
    fn samplers_agree_on_every_backend() {
        for device in devices() {
            // Fixed weights (drawn lazily from the backend's seeded generator), so the draws are
            // the same on every run.
            device.seed(7);
            let pixelcnn = Model::from(PixelCnnConfig::new(4).with_blocks(2).with_hidden(4).init(&device));
            let gated = GatedPixelCnnConfig::new(4).with_layers(2).with_channels(4).with_classes(Some(10));
            let gated = Model::from(gated.init(&device));
            let dims = [3, 7, 6];
            for (model, labels) in [(&pixelcnn, None), (&gated, Some(&[2u8, 5, 9][..]))] {
                for seed in 0..2 {
                    let rng = || stream(seed, Stream::Samples, 1);
                    let naive = Sampler::Naive.sample(model, dims, labels, &mut rng());
                    let cached = Sampler::Cached.sample(model, dims, labels, &mut rng());
                    assert_eq!(cached, naive, "{device:?} seed {seed}");
                    let complete =
                        |sampler: Sampler| sampler.complete(model, &naive, labels, dims, 3, &mut rng());
                    let naive_completion = complete(Sampler::Naive);
                    assert_eq!(
                        complete(Sampler::Cached),
                        naive_completion,
                        "{device:?} seed {seed}, completion"
                    );
                }
            }
        }
    }

    fn request(count: usize, label: Option<u8>) -> SampleRequest {
        SampleRequest {
            seed: 1,
            epoch: 1,
            count,
            complete: 0,
            occlude_from_row: 2,
            sampler: Sampler::Cached,
            label,
        }
    }

    /// A conditional model's grid: one row per class, class 0 on top; a chosen class fills it.
    #[test]
    fn conditional_grids_have_one_row_per_class() {
        let repeat = |class: u8, n: usize| std::iter::repeat_n(class, n);
        let (labels, per_row) = request(30, None).sample_labels(Some(10));
        assert_eq!(labels.unwrap(), (0..10).flat_map(|c| repeat(c, 3)).collect::<Vec<_>>());
        assert_eq!(per_row, 3);
        let (labels, per_row) = request(4, None).sample_labels(Some(10));
        assert_eq!((labels.unwrap(), per_row), (vec![0, 1, 2, 3], 1));
        // Rounded up to whole rows.
        let (labels, per_row) = request(15, None).sample_labels(Some(10));
        assert_eq!((labels.unwrap().len(), per_row), (20, 2));
        let (labels, per_row) = request(20, Some(7)).sample_labels(Some(10));
        assert_eq!((labels.unwrap(), per_row), (vec![7; 20], 10));
        assert_eq!(request(20, Some(7)).sample_labels(None), (None, 10));
    }

    /// A label is refused by an unconditional model and out of a conditional model's range, with
    /// the reason.
    #[test]
    fn labels_are_checked() {
        let device = Device::flex();
        let test = QuantisedSplit::new(
            &pixelcnn_data::Split {
                images: pixelcnn_data::idx::IdxImages { count: 1, rows: 3, cols: 3, pixels: vec![0; 9] },
                labels: vec![4],
            },
            pixelcnn_data::Levels::new(4).unwrap(),
        );
        let pixelcnn = Model::from(PixelCnnConfig::new(4).with_blocks(1).with_hidden(2).init(&device));
        let err = request(10, Some(3)).run(&pixelcnn, &test).unwrap_err();
        assert!(err.to_string().contains("unconditional"), "{err}");
        let gated = GatedPixelCnnConfig::new(4).with_layers(1).with_channels(2).with_classes(Some(10));
        let gated = Model::from(gated.init(&device));
        let err = request(10, Some(10)).run(&gated, &test).unwrap_err();
        assert!(err.to_string().contains("0 to 9"), "{err}");
        let files = request(10, None).run(&gated, &test).unwrap();
        let grid = image::load_from_memory(&files.samples.unwrap()).unwrap();
        // Ten rows of one 3x3 image (scaled 2x, 2-pixel gaps).
        assert_eq!((grid.width(), grid.height()), (2 + 8, 2 + 10 * 8));
    }
}
