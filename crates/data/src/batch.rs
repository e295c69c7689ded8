//! Quantised splits turned into burn tensors, batch by batch, in an order that depends only on the
//! run seed and the epoch (so that a run resumed at epoch e shuffles exactly as the uninterrupted one).

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::dataset::Split;
use pixelcnn_config::Levels;

/// A batch ready for the model.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Model input `[B, 1, H, W]`: level / (q - 1).
    pub inputs: Tensor<4>,
    /// Targets `[B, H, W]`: the levels 0..q-1.
    pub targets: Tensor<3, Int>,
    /// The images' classes `[B]` (what a label-conditional model is conditioned on).
    pub labels: Tensor<1, Int>,
}

/// A split quantised to q levels once, so that batching is a copy.
#[derive(Debug, Clone)]
pub struct QuantisedSplit {
    levels: Levels,
    rows: usize,
    cols: usize,
    data: Vec<u8>,
    labels: Vec<u8>,
}

impl QuantisedSplit {
    /// Quantises every image of the split; the labels are kept as they are.
    pub fn new(split: &Split, levels: Levels) -> Self {
        Self {
            levels,
            rows: split.images.rows,
            cols: split.images.cols,
            data: levels.quantise_all(&split.images.pixels),
            labels: split.labels.clone(),
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.data.len() / (self.rows * self.cols)
    }

    /// Whether the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The quantisation used.
    pub fn levels(&self) -> Levels {
        self.levels
    }

    /// Image height and width.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// Levels of one image, raster order.
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.rows * self.cols;
        &self.data[index * size..(index + 1) * size]
    }

    /// The class of one image.
    pub fn label(&self, index: usize) -> u8 {
        self.labels[index]
    }

    /// The visiting order of one epoch: a permutation of all indices drawn from (seed, epoch) alone.
    pub fn epoch_order(&self, seed: u64, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(epoch as u64);
        order.shuffle(&mut rng);
        order
    }

    /// Builds the batch of the given images on `device`.
    pub fn batch(&self, indices: &[usize], device: &Device) -> Batch {
        let (h, w) = (self.rows, self.cols);
        let levels: Vec<u8> = indices.iter().flat_map(|&i| self.image(i).iter().copied()).collect();
        let inputs: Vec<f32> = levels.iter().map(|&l| self.levels.input_value(l)).collect();
        let targets: Vec<i64> = levels.iter().map(|&l| i64::from(l)).collect();
        let labels: Vec<i64> = indices.iter().map(|&i| i64::from(self.labels[i])).collect();
        let b = indices.len();
        Batch {
            inputs: Tensor::from_data(TensorData::new(inputs, [b, 1, h, w]), device),
            targets: Tensor::from_data(TensorData::new(targets, [b, h, w]), device),
            labels: Tensor::from_data(TensorData::new(labels, [b]), device),
        }
    }
}
