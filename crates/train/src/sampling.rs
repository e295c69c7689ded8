//! The seed's two sampling demos for a trained model: a grid of images drawn from scratch, and the
//! first test images with their lower rows occluded, completed by the model. Both draw from the
//! run's seeded streams, so the same checkpoint and seed give the same pictures, with either
//! sampler (up to floating-point rounding at class boundaries).

use std::path::Path;

use pixelcnn_config::Sampler;
use pixelcnn_data::QuantisedSplit;
use pixelcnn_model::Model;
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
}

/// Rendered pictures, PNG bytes.
#[derive(Debug, Clone, Default)]
pub struct SampleFiles {
    /// Grid of images from scratch.
    pub samples: Option<Vec<u8>>,
    /// Occluded inputs (top row) above their completions (bottom row).
    pub completion: Option<Vec<u8>>,
}

/// The model crate's implementation of the sampler a configuration names.
pub fn implementation(sampler: Sampler) -> pixelcnn_model::Sampler {
    match sampler {
        Sampler::Cached => pixelcnn_model::Sampler::Cached,
        Sampler::Naive => pixelcnn_model::Sampler::Naive,
    }
}

impl SampleRequest {
    /// Draws with `model` (an inference copy); `test` supplies the images to complete.
    pub fn run(&self, model: &Model, test: &QuantisedSplit) -> Result<SampleFiles> {
        let (h, w) = test.shape();
        let q = model.levels();
        let sampler = implementation(self.sampler);
        let samples = (self.count > 0).then(|| {
            let mut rng = stream(self.seed, Stream::Samples, self.epoch as usize);
            let levels = sampler.sample(model, [self.count, h, w], &mut rng);
            grid_png(&levels, [self.count, h, w], q, PER_ROW)
        });
        let n = self.complete.min(test.len());
        let completion = (n > 0).then(|| {
            let originals: Vec<u8> = (0..n).flat_map(|i| test.image(i).iter().copied()).collect();
            let mut rng = stream(self.seed, Stream::Completion, self.epoch as usize);
            let completed = sampler.complete(model, &originals, [n, h, w], self.occlude_from_row, &mut rng);
            let mut occluded = originals;
            for image in occluded.chunks_mut(h * w) {
                image[self.occlude_from_row * w..].fill(0);
            }
            occluded.extend_from_slice(&completed);
            grid_png(&occluded, [2 * n, h, w], q, n)
        });
        Ok(SampleFiles { samples, completion })
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
    use pixelcnn_model::PixelCnnConfig;

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

    /// On every backend of the build, the cached sampler draws the naive sampler's images.
    #[test]
    fn samplers_agree_on_every_backend() {
        for device in devices() {
            // Fixed weights (drawn lazily from the backend's seeded generator), so the draws are
            // the same on every run.
            device.seed(7);
            let model = Model::from(PixelCnnConfig::new(4).with_blocks(2).with_hidden(4).init(&device));
            let dims = [3, 7, 6];
            for seed in 0..2 {
                let rng = || stream(seed, Stream::Samples, 1);
                let naive = pixelcnn_model::Sampler::Naive.sample(&model, dims, &mut rng());
                assert_eq!(
                    pixelcnn_model::Sampler::Cached.sample(&model, dims, &mut rng()),
                    naive,
                    "{device:?} seed {seed}"
                );
                let naive = pixelcnn_model::Sampler::Naive.complete(&model, &naive, dims, 3, &mut rng());
                let cached = pixelcnn_model::Sampler::Cached.complete(&model, &naive, dims, 3, &mut rng());
                assert_eq!(cached, naive, "{device:?} seed {seed}, completion");
            }
        }
    }

    /// The configuration's default sampler is the model crate's default, and each choice maps to
    /// the implementation of the same kind.
    #[test]
    fn configured_samplers_map_to_the_model_crate() {
        assert_eq!(implementation(Sampler::default()), pixelcnn_model::Sampler::default());
        assert_eq!(implementation(Sampler::Naive), pixelcnn_model::Sampler::Naive);
        assert_eq!(implementation(Sampler::Cached), pixelcnn_model::Sampler::Cached);
    }
}
