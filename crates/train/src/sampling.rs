//! The seed's two sampling demos for a trained model: a grid of images drawn from scratch, and the
//! first test images with their lower rows occluded, completed by the model. Both draw from the
//! run's seeded streams, so the same checkpoint and seed give the same pictures.

use std::path::Path;

use pixelcnn_data::QuantisedSplit;
use pixelcnn_model::{PixelCnn, complete, sample};

use crate::error::{Result, TrainError};
use crate::images::grid_png;
use crate::observer::{Artefact, ArtefactKind};
use crate::rng::{Stream, stream};

/// Images per row of the sample grid (the seed's 10x10 figure).
const PER_ROW: usize = 10;

/// What to draw, and with which streams.
#[derive(Debug, Clone, Copy)]
pub struct SampleRequest {
    /// Run seed.
    pub seed: u64,
    /// Epoch whose streams to use.
    pub epoch: usize,
    /// Images from scratch (0: none).
    pub count: usize,
    /// Test images to complete (0: none).
    pub complete: usize,
    /// First occluded row.
    pub occlude_from_row: usize,
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
    /// Draws with `model` (an inference copy); `test` supplies the images to complete.
    pub fn run(&self, model: &PixelCnn, test: &QuantisedSplit) -> Result<SampleFiles> {
        let (h, w) = test.shape();
        let q = model.levels;
        let samples = (self.count > 0).then(|| {
            let mut rng = stream(self.seed, Stream::Samples, self.epoch);
            let levels = sample(model, [self.count, h, w], &mut rng);
            grid_png(&levels, [self.count, h, w], q, PER_ROW)
        });
        let n = self.complete.min(test.len());
        let completion = (n > 0).then(|| {
            let originals: Vec<u8> = (0..n).flat_map(|i| test.image(i).iter().copied()).collect();
            let mut rng = stream(self.seed, Stream::Completion, self.epoch);
            let completed = complete(model, &originals, [n, h, w], self.occlude_from_row, &mut rng);
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
    pub fn write(&self, dir: &Path, epoch: usize) -> Result<Vec<Artefact>> {
        std::fs::create_dir_all(dir).map_err(|source| TrainError::Io { path: dir.to_owned(), source })?;
        let mut artefacts = Vec::new();
        for (kind, bytes) in
            [(ArtefactKind::Samples, &self.samples), (ArtefactKind::Completion, &self.completion)]
        {
            let Some(bytes) = bytes else { continue };
            let name = match kind {
                ArtefactKind::Samples => "samples",
                _ => "completion",
            };
            let path = dir.join(format!("{name}-epoch-{epoch:04}.png"));
            std::fs::write(&path, bytes).map_err(|source| TrainError::Io { path: path.clone(), source })?;
            artefacts.push(Artefact { kind, epoch, path });
        }
        Ok(artefacts)
    }
}
