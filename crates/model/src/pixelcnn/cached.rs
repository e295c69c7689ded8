//! The PixelCNN's step of the cached sampler ([`crate::cached_sample`]).
//!
//! Only the 7x7 mask-A input convolution and the 3x3 mask-B convolutions mix positions; every
//! other layer is a 1x1 convolution, i.e. a matrix product of one position's channels. One step at
//! `(row, col)` therefore is, for the whole batch at once:
//!
//! - input convolution: the unmasked taps of the (zero-padded) image patch around `(row, col)`,
//!   gathered on the host from the levels drawn so far, times the unmasked kernel taps,
//!   `[B, taps] x [taps, 2h]`;
//! - for each residual block: `t = relu(1x1(relu(x)))` at `(row, col)`, cached; the mask-B
//!   convolution is the concatenation of the cached `t` at its unmasked taps (row above: `col - 1`,
//!   `col`, `col + 1`; own row: `col - 1`, `col`; zeros outside the image) times the unmasked
//!   kernel taps, `[B, 5h] x [5h, h]`; then `x += 1x1(relu(u))`;
//! - the head's two 1x1 convolutions, and one read back of the `[B, q]` logits for the draws.
//!
//! The cache holds one `[B, h]` tensor per position and block, for the current row and the rows
//! above that the mask-B kernel reaches (one, for 3x3), and is appended to, never written into, so
//! no step copies a big tensor. To complete images, the known rows go through one ordinary forward
//! pass of the layers (exact: outputs of those rows never see the rows below) and their last rows
//! seed the cache. Per pixel there is one upload (the `[B, taps]` input patch) and one read back
//! (the logits).

use std::collections::VecDeque;

use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

use super::PixelCnn;
use crate::cached_sample::{CachedStep, Dense};
use crate::mask::MaskType;
use crate::native::conv1x1_params;

/// One residual block, cut into matrices, with its cache of `t = relu(1x1(relu(x)))`.
struct CachedBlock {
    reduce: Dense,
    masked: Dense,
    /// Offsets of the mask-B taps, in the order of `masked`'s rows; all before or at the centre.
    offsets: Vec<(isize, isize)>,
    expand: Dense,
    /// Completed rows of `t` that the mask-B kernel still reaches, oldest first, one `[B, h]`
    /// tensor per column.
    above: VecDeque<Vec<Tensor<2>>>,
    /// `t` at the current row's columns so far.
    current: Vec<Tensor<2>>,
    /// How many rows above the mask-B kernel reaches.
    reach: usize,
}

impl CachedBlock {
    /// Cached `t` at `(row + dr, col + dc)`, or `None` outside the image (zero padding).
    fn at(&self, row: usize, col: usize, (dr, dc): (isize, isize), width: usize) -> Option<Tensor<2>> {
        let r = row.checked_add_signed(dr)?;
        let c = col.checked_add_signed(dc).filter(|&c| c < width)?;
        let line = if r == row { &self.current } else { &self.above[self.above.len() - (row - r)] };
        line.get(c).cloned()
    }

    fn end_row(&mut self) {
        self.above.push_back(std::mem::take(&mut self.current));
        while self.above.len() > self.reach {
            self.above.pop_front();
        }
    }
}

/// The whole network cut into per-position matrix products, plus the caches of one batch.
pub(crate) struct CachedNet {
    device: Device,
    dims: [usize; 3],
    levels: usize,
    input: Dense,
    input_offsets: Vec<(isize, isize)>,
    blocks: Vec<CachedBlock>,
    hidden: Dense,
    output: Dense,
    /// `[B, h]` zeros: `t` outside the image.
    zeros: Tensor<2>,
}

impl CachedNet {
    /// The network of `model` (an inference copy) cut for a batch of `dims` images, its caches
    /// seeded from the known rows `0..start_row` of `levels`.
    pub(crate) fn new(model: &PixelCnn, levels: &[u8], dims: [usize; 3], start_row: usize) -> Self {
        let device = model.device();
        let (input, input_offsets) = Dense::from_masked(&model.input_conv, MaskType::A);
        let blocks: Vec<CachedBlock> = model
            .blocks
            .iter()
            .map(|block| {
                let (masked, offsets) = Dense::from_masked(&block.conv2b, MaskType::B);
                let reach = offsets.iter().map(|&(dr, _)| dr.unsigned_abs()).max().unwrap_or(0);
                CachedBlock {
                    reduce: Dense::from_conv1x1(conv1x1_params(&block.conv2a)),
                    masked,
                    offsets,
                    expand: Dense::from_conv1x1(conv1x1_params(&block.conv2c)),
                    above: VecDeque::new(),
                    current: Vec::new(),
                    reach,
                }
            })
            .collect();
        let hidden = blocks.first().map_or(0, |block| block.reduce.outputs());
        let zeros = Tensor::zeros([dims[0], hidden], &device);
        let mut net = Self {
            device,
            dims,
            levels: model.levels,
            input,
            input_offsets,
            blocks,
            hidden: Dense::from_conv1x1(conv1x1_params(&model.hidden_conv)),
            output: Dense::from_conv1x1(conv1x1_params(&model.output_conv)),
            zeros,
        };
        if start_row > 0 {
            net.prefill(model, levels, start_row);
        }
        net
    }

    /// The seed's input value of a level, `level / (q - 1)`, exactly as the naive sampler feeds it.
    fn value(&self, level: u8) -> f32 {
        f32::from(level) / (self.levels - 1) as f32
    }

    /// Pushes the known rows `0..start_row` of `levels` through the blocks with one ordinary
    /// forward pass on those rows and caches the last rows of `t` the next row needs.
    fn prefill(&mut self, model: &PixelCnn, levels: &[u8], start_row: usize) {
        let [n, height, width] = self.dims;
        let values: Vec<f32> = levels
            .chunks(height * width)
            .flat_map(|image| image[..start_row * width].iter().map(|&level| self.value(level)))
            .collect();
        let image = Tensor::<4>::from_data(TensorData::new(values, [n, 1, start_row, width]), &self.device);
        let mut x = model.input_conv.forward(image);
        let last = self.blocks.len().saturating_sub(1);
        for (index, (block, cached)) in model.blocks.iter().zip(&mut self.blocks).enumerate() {
            let t = relu(block.conv2a.forward(relu(x.clone())));
            let h = t.dims()[1];
            for row in start_row.saturating_sub(cached.reach)..start_row {
                let line = (0..width)
                    .map(|col| t.clone().slice([0..n, 0..h, row..row + 1, col..col + 1]).reshape([n, h]))
                    .collect();
                cached.above.push_back(line);
            }
            if index < last {
                x = x + block.conv2c.forward(relu(block.conv2b.forward(t)));
            }
        }
    }
}

impl CachedStep for CachedNet {
    fn step(&mut self, levels: &[u8], row: usize, col: usize) -> Vec<f32> {
        let [n, height, width] = self.dims;
        let taps = self.input_offsets.len();
        let mut patch = Vec::with_capacity(n * taps);
        for image in levels.chunks(height * width) {
            for &(dr, dc) in &self.input_offsets {
                let r = row.checked_add_signed(dr).filter(|&r| r < height);
                let c = col.checked_add_signed(dc).filter(|&c| c < width);
                patch.push(match (r, c) {
                    (Some(r), Some(c)) => self.value(image[r * width + c]),
                    _ => 0.0,
                });
            }
        }
        let patch = Tensor::<2>::from_data(TensorData::new(patch, [n, taps]), &self.device);
        let mut x = self.input.forward(patch);
        for block in &mut self.blocks {
            let t = relu(block.reduce.forward(relu(x.clone())));
            block.current.push(t);
            let parts: Vec<Tensor<2>> = block
                .offsets
                .iter()
                .map(|&offset| block.at(row, col, offset, width).unwrap_or_else(|| self.zeros.clone()))
                .collect();
            let u = block.masked.forward(Tensor::cat(parts, 1));
            x = x + block.expand.forward(relu(u));
            if col + 1 == width {
                block.end_row();
            }
        }
        let hidden = relu(self.hidden.forward(relu(x)));
        self.output.forward(hidden).try_into_vec_as::<f32>().expect("reading the logits back from the device")
    }
}
