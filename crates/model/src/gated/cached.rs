//! The gated PixelCNN's step of the cached sampler ([`crate::cached_sample`]).
//!
//! The two stacks split the work by row. The vertical stack at row `i` depends on the image's rows
//! up to `i` only, and the horizontal stack reads it one row down, so the whole vertical stack of
//! a row is computed once, when the row is complete, as one convolution per layer over the last
//! `n/2 + 1` rows of that layer's input (cached, zeros above the image), for every column at once:
//! `[B, in, n/2 + 1, W] -> [B, 2c, 1, W]`. Its 1x1 vertical-to-horizontal convolution is computed
//! there too, ready for the next row.
//!
//! Only the horizontal stack runs per pixel, for the whole batch at once: in each layer the
//! concatenation of the layer's cached inputs at the columns its kernel reaches (the current one
//! and the `n/2` to its left; in the first layer the image's levels at the `n/2` columns to the
//! left, gathered on the host) times the kernel's taps, `[B, (n/2 + 1) in] x [(n/2 + 1) in, 2c]`,
//! plus the vertical stack's contribution at the column and the label bias, the gate, a 1x1
//! convolution and the residual; then the head's two 1x1 convolutions and one read back of the
//! `[B, q]` logits.
//!
//! To complete images, the known rows go through one ordinary forward pass of the vertical stack
//! (exact: its rows never see the rows below) and seed the caches.

use std::collections::VecDeque;

use burn::nn::Embedding;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::GatedPixelCnn;
use super::layer::{GatedLayer, gate, label_bias};
use crate::cached_sample::{CachedStep, Dense};
use crate::native::{ConvParams, conv_params, conv1x1_params, padded_conv2d};

/// One gated layer cut for the sampler, with its caches.
struct CachedLayer {
    /// The vertical convolution `[2c, in, n/2 + 1, n]`.
    vertical: ConvParams,
    /// The 1x1 vertical-to-horizontal convolution.
    vertical_to_horizontal: ConvParams,
    /// The horizontal kernel's taps, left to right.
    horizontal: Dense,
    /// The 1x1 convolution after the horizontal gate.
    output: Dense,
    /// The label bias of the vertical gate, `[B, 2c, 1, 1]` (conditional models).
    vertical_label: Option<Tensor<4>>,
    /// The label bias of the horizontal gate, `[B, 2c]` (conditional models).
    horizontal_label: Option<Tensor<2>>,
    residual: bool,
    /// The last `n/2` complete rows of the vertical stack's input, `[B, in, 1, W]` each, oldest
    /// first (zeros above the image).
    above: VecDeque<Tensor<4>>,
    /// The vertical stack's contribution to the current row's horizontal gate, `[B, 2c, 1, W]`.
    from_above: Tensor<4>,
    /// The horizontal stack's input at the current row's columns so far, `[B, in]` each (not used
    /// by the first layer, which reads the image).
    row: Vec<Tensor<2>>,
}

/// The gated network cut into a row-wise vertical stack and a per-pixel horizontal one, plus the
/// caches of one batch.
pub(crate) struct CachedGated {
    device: Device,
    dims: [usize; 3],
    levels: usize,
    /// `n / 2`: the columns to the left (and rows above) a kernel reaches.
    half: usize,
    layers: Vec<CachedLayer>,
    hidden: Dense,
    output: Dense,
    /// `[B, c]` zeros: the horizontal stack left of the image.
    zeros: Tensor<2>,
    /// A row whose last pixel was the last step's: its vertical stack is computed at the next
    /// step, once the caller has drawn that pixel.
    completed_row: Option<usize>,
}

impl CachedLayer {
    /// The layer cut for a batch whose classes are `labels` (conditional models), its caches
    /// seeded from `rows` (`[B, in, R, W]`, the layer's vertical input at the `R` known rows,
    /// possibly none). Returns it with the gated vertical stack of those rows, the next layer's
    /// input.
    fn new(
        layer: &GatedLayer,
        labels: Option<&Tensor<1, Int>>,
        rows: Tensor<4>,
        half: usize,
    ) -> (Self, Tensor<4>) {
        let (weight, bias) = conv_params(&layer.horizontal);
        let taps: Vec<(usize, usize)> = (0..weight.dims()[3]).map(|j| (0, j)).collect();
        let bias_of = |table: &Option<Embedding>| {
            table.as_ref().map(|table| {
                label_bias(table, labels.expect("a label-conditional model needs the images' labels"))
            })
        };
        let vertical_label = bias_of(&layer.vertical_label).map(|bias| {
            let [n, channels] = bias.dims();
            bias.reshape([n, channels, 1, 1])
        });
        let vertical = conv_params(&layer.vertical);
        let vertical_to_horizontal = conv1x1_params(&layer.vertical_to_horizontal);
        let [n, channels, count, width] = rows.dims();
        let two_c = vertical.0.dims()[0];
        let device = rows.device();
        let v = (count > 0).then(|| {
            padded_conv2d(rows.clone(), vertical.0.clone(), vertical.1.clone(), [half, half, half, 0])
        });
        // The next row reads the last known row's pre-activations (zeros above the image).
        let last = match &v {
            Some(v) => v.clone().narrow(2, count - 1, 1),
            None => Tensor::zeros([n, two_c, 1, width], &device),
        };
        let (w, b) = vertical_to_horizontal.clone();
        let from_above = padded_conv2d(last, w, b, [0; 4]);
        let mut above: VecDeque<Tensor<4>> =
            (count..half).map(|_| Tensor::zeros([n, channels, 1, width], &device)).collect();
        above.extend((count.saturating_sub(half)..count).map(|row| rows.clone().narrow(2, row, 1)));
        let cached = Self {
            vertical,
            vertical_to_horizontal,
            horizontal: Dense::from_taps((weight, bias), &taps),
            output: Dense::from_conv1x1(conv1x1_params(&layer.output)),
            vertical_label,
            horizontal_label: bias_of(&layer.horizontal_label),
            residual: layer.residual,
            above,
            from_above,
            row: Vec::new(),
        };
        let next = match v {
            Some(v) => cached.with_label(v),
            None => Tensor::zeros([n, two_c / 2, 0, width], &device),
        };
        (cached, next)
    }

    /// The gated vertical stack of pre-activations `v`, with the label bias.
    fn with_label(&self, v: Tensor<4>) -> Tensor<4> {
        gate(match &self.vertical_label {
            Some(bias) => v + bias.clone(),
            None => v,
        })
    }

    /// Adds the vertical input `row` (`[B, in, 1, W]`) of a just completed row under the cached
    /// rows above it, and returns that row's vertical pre-activations `[B, 2c, 1, W]`, after
    /// caching their contribution to the next row's horizontal gate.
    fn end_row(&mut self, row: Tensor<4>, half: usize) -> Tensor<4> {
        self.above.push_back(row);
        let strip = Tensor::cat(self.above.iter().cloned().collect(), 2);
        while self.above.len() > half {
            self.above.pop_front();
        }
        let (weight, bias) = self.vertical.clone();
        let v = padded_conv2d(strip, weight, bias, [half, half, 0, 0]);
        let (weight, bias) = self.vertical_to_horizontal.clone();
        self.from_above = padded_conv2d(v.clone(), weight, bias, [0; 4]);
        self.row.clear();
        v
    }
}

impl CachedGated {
    /// The network of `model` (an inference copy) cut for a batch of `dims` images with the
    /// classes `labels` (conditional models), its caches seeded from the known rows `0..start_row`
    /// of `levels`.
    pub(crate) fn new(
        model: &GatedPixelCnn,
        levels: &[u8],
        labels: Option<&[u8]>,
        dims: [usize; 3],
        start_row: usize,
    ) -> Self {
        let device = model.device();
        let [n, height, width] = dims;
        let labels = labels.filter(|_| model.classes().is_some()).map(|labels| {
            let labels: Vec<i64> = labels.iter().map(|&l| i64::from(l)).collect();
            Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), &device)
        });
        let q = model.levels;
        let half = model.layers[0].vertical.kernel_size[0] - 1;
        // The vertical stack over the known rows: one ordinary forward pass per layer.
        let known: Vec<f32> = levels
            .chunks(height * width)
            .flat_map(|image| image[..start_row * width].iter().map(|&level| value(level, q)))
            .collect();
        let mut rows = Tensor::<4>::from_data(TensorData::new(known, [n, 1, start_row, width]), &device);
        let mut layers = Vec::with_capacity(model.layers.len());
        for layer in &model.layers {
            let (cached, next) = CachedLayer::new(layer, labels.as_ref(), rows, half);
            layers.push(cached);
            rows = next;
        }
        let channels = model.hidden_conv.weight.dims()[0];
        Self {
            zeros: Tensor::zeros([n, channels], &device),
            device,
            dims,
            levels: q,
            half,
            layers,
            hidden: Dense::from_conv1x1(conv1x1_params(&model.hidden_conv)),
            output: Dense::from_conv1x1(conv1x1_params(&model.output_conv)),
            completed_row: None,
        }
    }

    /// The image's values at columns `col - n/2 .. col` of `row` (zeros left of the image),
    /// `[B, n/2]`: what the first layer's horizontal kernel reads.
    fn left_patch(&self, levels: &[u8], row: usize, col: usize) -> Tensor<2> {
        let [n, height, width] = self.dims;
        let mut patch = Vec::with_capacity(n * self.half);
        for image in levels.chunks(height * width) {
            for c in (col as isize - self.half as isize)..col as isize {
                patch.push(usize::try_from(c).map_or(0.0, |c| value(image[row * width + c], self.levels)));
            }
        }
        Tensor::from_data(TensorData::new(patch, [n, self.half]), &self.device)
    }

    /// Row `row` of the images, `[B, 1, 1, W]`, once it is complete: the vertical stack's input.
    fn image_row(&self, levels: &[u8], row: usize) -> Tensor<4> {
        let [n, height, width] = self.dims;
        let values: Vec<f32> = levels
            .chunks(height * width)
            .flat_map(|image| {
                image[row * width..(row + 1) * width].iter().map(|&level| value(level, self.levels))
            })
            .collect();
        Tensor::from_data(TensorData::new(values, [n, 1, 1, width]), &self.device)
    }

    /// The vertical stack of the just completed row `row`: caches the next row's contributions.
    fn end_row(&mut self, levels: &[u8], row: usize) {
        let mut input = self.image_row(levels, row);
        for layer in &mut self.layers {
            let v = layer.end_row(input, self.half);
            input = layer.with_label(v);
        }
    }
}

/// The seed's input value of a level, `level / (q - 1)`, exactly as the naive sampler feeds it.
fn value(level: u8, q: usize) -> f32 {
    f32::from(level) / (q - 1) as f32
}

impl CachedStep for CachedGated {
    fn step(&mut self, levels: &[u8], row: usize, col: usize) -> Vec<f32> {
        let [n, _, width] = self.dims;
        if let Some(completed) = self.completed_row.take() {
            self.end_row(levels, completed);
        }
        let mut h = self.left_patch(levels, row, col);
        for (index, layer) in self.layers.iter_mut().enumerate() {
            let taps = if index == 0 {
                h.clone()
            } else {
                layer.row.push(h.clone());
                let parts: Vec<Tensor<2>> = (col as isize - self.half as isize..=col as isize)
                    .map(|c| usize::try_from(c).map_or_else(|_| self.zeros.clone(), |c| layer.row[c].clone()))
                    .collect();
                Tensor::cat(parts, 1)
            };
            let two_c = layer.from_above.dims()[1];
            let from_above =
                layer.from_above.clone().slice([0..n, 0..two_c, 0..1, col..col + 1]).reshape([n, two_c]);
            let mut pre = layer.horizontal.forward(taps) + from_above;
            if let Some(bias) = &layer.horizontal_label {
                pre = pre + bias.clone();
            }
            let out = layer.output.forward(gate(pre));
            h = if layer.residual { out + h } else { out };
        }
        let hidden = relu(self.hidden.forward(relu(h)));
        let logits = self
            .output
            .forward(hidden)
            .try_into_vec_as::<f32>()
            .expect("reading the logits back from the device");
        if col + 1 == width {
            self.completed_row = Some(row);
        }
        logits
    }
}
