//! The cached sampler (Ramachandran et al., 2017, "Fast Generation for Convolutional
//! Autoregressive Models"): the same draws as the naive sampler in [`mod@crate::sample`], without
//! running the whole network once per pixel.
//!
//! Every activation of a model at raster position `p` depends only on the pixels before `p`, so
//! during raster-order generation each layer needs computing only once, at the new position, from
//! activations of earlier positions. Each family cuts its network into such per-position steps
//! with caches of the activations later positions read (a `CachedStep`; the PixelCNN's is in
//! `pixelcnn/cached.rs`, the gated PixelCNN's in `gated/cached.rs`); this module runs them in raster
//! order and draws. A 1x1 convolution at
//! one position is a matrix product of that position's channels, and a masked convolution the
//! product of the cached inputs at its unmasked taps with those taps (`Dense`).
//!
//! The kernels are cut into these matrices once per call, keeping only the taps the masks keep, so
//! masked taps (which hold non-zero, never-used values) cannot leak in. Ops run on the model's
//! device (libtorch CPU or CUDA, flex); the draws are the naive sampler's, in the same order,
//! through [`draw_level`]. The logits differ from the naive sampler's only by floating-point
//! rounding (matrix products instead of convolutions), so a seed gives the same images except
//! where a draw falls within that rounding of a class boundary.

use burn::module::Module;
use burn::tensor::Tensor;
use rand::Rng;

use crate::family::Model;
use crate::mask::{MaskType, mask};
use crate::masked_conv::MaskedConv2d;
use crate::native::ConvParams;
use crate::sample::{check_inputs, draw_level};

/// Completes images whose rows from `start_row` on are unknown, with the cached sampler.
///
/// Same contract and same random draws as the naive [`crate::sample::complete`]: rows before
/// `start_row` are kept, the rest are zeroed and generated in raster order, a conditional model
/// drawing each image from its class in `labels`. The model's inference copy (`valid()`) is used,
/// so an autodiff model is fine.
///
/// # Panics
/// Where the naive [`crate::sample::complete`] does: its inputs are checked by the same function.
pub fn complete(
    model: &Model,
    images: &[u8],
    labels: Option<&[u8]>,
    dims: [usize; 3],
    start_row: usize,
    rng: &mut impl Rng,
) -> Vec<u8> {
    let [_, height, width] = dims;
    let pixels = height * width;
    let q = model.levels();
    // `generate` checks the inputs, overwrites every pixel from `start_row` on and reads only
    // pixels before the current one, so the unknown rows need no zeroing here.
    let mut levels = images.to_vec();
    generate(model, &mut levels, labels, dims, start_row, |pixel, logits, levels| {
        for (image, image_logits) in logits.chunks(q).enumerate() {
            levels[image * pixels + pixel] = draw_level(image_logits, rng.random::<f64>());
        }
    });
    levels
}

/// Runs the cached network over `levels` (`[n, height, width]`, of the classes `labels`) in raster
/// order from `(start_row, 0)`. At each pixel it computes the `[n, q]` logits (image-major) from
/// the pixels before it and hands them to `on_pixel(pixel, logits, levels)`, which may write that
/// pixel's levels (sampling) or leave the given ones (teacher forcing). Only pixels before the
/// current one are read, so what `levels` holds from the current pixel on does not matter.
pub(crate) fn generate(
    model: &Model,
    levels: &mut [u8],
    labels: Option<&[u8]>,
    dims: [usize; 3],
    start_row: usize,
    mut on_pixel: impl FnMut(usize, &[f32], &mut [u8]),
) {
    let [n, height, width] = dims;
    check_inputs(model, levels, labels, dims, start_row);
    if n == 0 || width == 0 || start_row == height {
        return;
    }
    let mut network = model.valid().cached(levels, labels, dims, start_row);
    for row in start_row..height {
        for col in 0..width {
            let logits = network.step(levels, row, col);
            on_pixel(row * width + col, &logits, levels);
        }
    }
}

/// A family's network cut into per-position computations, with the caches of one batch: what the
/// cached sampler runs at each pixel (built by `Model::cached`).
pub(crate) trait CachedStep {
    /// Computes every layer at `(row, col)` from the caches and `levels` (`[n, height, width]`,
    /// read only before `(row, col)`), caches what later positions need, and returns the `[n, q]`
    /// logits, image-major. Called once per pixel in raster order.
    fn step(&mut self, levels: &[u8], row: usize, col: usize) -> Vec<f32>;
}

/// A 1x1 convolution as a matrix product: `x [B, in] -> x · weight + bias`, `[B, out]`.
pub(crate) struct Dense {
    /// `[in, out]`.
    weight: Tensor<2>,
    /// `[1, out]`.
    bias: Tensor<2>,
}

impl Dense {
    /// A 1x1 convolution's kernel `[out, in, 1, 1]` and bias `[out]`.
    pub(crate) fn from_conv1x1((weight, bias): ConvParams) -> Self {
        let [out, input, _, _] = weight.dims();
        Self { weight: weight.reshape([out, input]).transpose(), bias: bias.reshape([1, out]) }
    }

    /// The unmasked taps of a masked convolution: rows `tap * in + channel` of `weight` multiply
    /// the input at `offsets[tap]` (row and column offsets from the output position).
    pub(crate) fn from_masked(conv: &MaskedConv2d, mask_type: MaskType) -> (Self, Vec<(isize, isize)>) {
        let k = conv.weight.dims()[2];
        let centre = k / 2;
        let taps: Vec<(usize, usize)> = mask(k, mask_type)
            .iter()
            .enumerate()
            .filter(|(_, kept)| **kept != 0.0)
            .map(|(index, _)| (index / k, index % k))
            .collect();
        // Cross-correlation: tap (i, j) reads the input at (row + i - centre, col + j - centre).
        let offsets =
            taps.iter().map(|&(i, j)| (i as isize - centre as isize, j as isize - centre as isize)).collect();
        (Self::from_taps((conv.weight.val(), conv.bias.val()), &taps), offsets)
    }

    /// The taps `(i, j)` of a kernel `[out, in, kh, kw]` with its bias, stacked in the order given:
    /// rows `tap * in + channel` of the matrix multiply what the input holds for tap number `tap`.
    pub(crate) fn from_taps((weight, bias): ConvParams, taps: &[(usize, usize)]) -> Self {
        let [out, input, _, _] = weight.dims();
        let taps = taps
            .iter()
            .map(|&(i, j)| {
                weight.clone().slice([0..out, 0..input, i..i + 1, j..j + 1]).reshape([out, input]).transpose()
            })
            .collect();
        Self { weight: Tensor::cat(taps, 0), bias: bias.reshape([1, out]) }
    }

    /// `x` `[B, in]` -> `[B, out]`.
    pub(crate) fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        x.matmul(self.weight.clone()) + self.bias.clone()
    }

    /// `out`, the width of what [`Dense::forward`] returns.
    pub(crate) fn outputs(&self) -> usize {
        self.weight.dims()[1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Draw;
    use crate::gated::GatedPixelCnnConfig;
    use crate::pixelcnn::PixelCnnConfig;
    use crate::sample;
    use burn::module::{ModuleMapper, Param};
    use burn::tensor::{Device, TensorData};
    use pixelcnn_config::Sampler;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::panic::{AssertUnwindSafe, catch_unwind};

    /// Replaces every parameter, biases and masked taps included, with values drawn from a host
    /// RNG: the model is the same on every run and backend, and a bug that reads a masked tap, a
    /// wrong bias or a wrong channel shows up.
    struct Scramble(ChaCha8Rng);

    impl ModuleMapper for Scramble {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            param.map(|tensor| {
                let dims = tensor.dims();
                let count: usize = dims.iter().product();
                // Kernels: He-uniform over the full kernel (keeps the scale through the relus, so
                // the logits spread over several nats); biases: up to 0.5.
                let limit = if D == 1 { 0.5 } else { (6.0 / (count / dims[0]) as f32).sqrt() };
                let values: Vec<f32> = (0..count).map(|_| self.0.random_range(-limit..limit)).collect();
                Tensor::from_data(TensorData::new(values, dims), &tensor.device())
            })
        }
    }

    /// A PixelCNN with scrambled parameters.
    fn model(levels: usize, blocks: usize, hidden: usize, seed: u64) -> Model {
        let model = PixelCnnConfig::new(levels).with_blocks(blocks).with_hidden(hidden).init(&Device::flex());
        Model::from(model).map(&mut Scramble(ChaCha8Rng::seed_from_u64(seed)))
    }

    /// A gated PixelCNN with scrambled parameters (label biases included), conditioned on 10
    /// classes when `conditional`.
    fn gated(levels: usize, [layers, channels, kernel]: [usize; 3], conditional: bool, seed: u64) -> Model {
        let config = GatedPixelCnnConfig::new(levels)
            .with_layers(layers)
            .with_channels(channels)
            .with_kernel(kernel)
            .with_classes(conditional.then_some(10));
        Model::from(config.init(&Device::flex())).map(&mut Scramble(ChaCha8Rng::seed_from_u64(seed)))
    }

    /// Classes for `n` images of a conditional model (every class in turn, from `first`); none
    /// for an unconditional one.
    fn labels_for(model: &Model, n: usize, first: usize) -> Option<Vec<u8>> {
        let classes = model.classes()?;
        Some((0..n).map(|i| ((first + i) % classes) as u8).collect())
    }

    fn softmax(logits: &[f32]) -> Vec<f64> {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let weights: Vec<f64> = logits.iter().map(|&x| f64::from(x - max).exp()).collect();
        let sum: f64 = weights.iter().sum();
        weights.iter().map(|w| w / sum).collect()
    }

    /// Per-pixel probabilities from one forward pass of the model on the finished images,
    /// `[n, pixels, q]`. By causality (`logits_depend_only_on_earlier_pixels`) they are the
    /// distributions the naive sampler draws from at each pixel of this generation.
    fn forward_probabilities(
        model: &Model,
        levels: &[u8],
        labels: Option<&[u8]>,
        [n, height, width]: [usize; 3],
    ) -> Vec<f64> {
        let q = model.levels();
        let device = model.device();
        let values: Vec<f32> = levels.iter().map(|&l| f32::from(l) / (q - 1) as f32).collect();
        let input = Tensor::<4>::from_data(TensorData::new(values, [n, 1, height, width]), &device);
        let labels = labels.map(|labels| {
            let labels: Vec<i64> = labels.iter().map(|&l| i64::from(l)).collect();
            Tensor::<1, burn::tensor::Int>::from_data(TensorData::new(labels, [n]), &device)
        });
        // [n, q, H, W] -> [n, H, W, q].
        let logits = model.forward(input, labels).permute([0, 2, 3, 1]).try_into_vec_as::<f32>().unwrap();
        logits.chunks(q).flat_map(softmax).collect()
    }

    /// Generates with the cached sampler (same draws as [`complete`]) while recording its
    /// per-pixel probabilities, `[n, pixels, q]` (NaN at pixels before `start_row`).
    fn generate_recording(
        model: &Model,
        images: &[u8],
        labels: Option<&[u8]>,
        dims: [usize; 3],
        start_row: usize,
        seed: u64,
    ) -> (Vec<u8>, Vec<f64>) {
        let [n, height, width] = dims;
        let (q, pixels) = (model.levels(), height * width);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut levels = images.to_vec();
        for image in levels.chunks_mut(pixels) {
            image[start_row * width..].fill(0);
        }
        let mut probabilities = vec![f64::NAN; n * pixels * q];
        generate(model, &mut levels, labels, dims, start_row, |pixel, logits, levels| {
            for (image, image_logits) in logits.chunks(q).enumerate() {
                let at = (image * pixels + pixel) * q;
                probabilities[at..at + q].copy_from_slice(&softmax(image_logits));
                levels[image * pixels + pixel] = draw_level(image_logits, rng.random::<f64>());
            }
        });
        (levels, probabilities)
    }

    /// Generates (from `start_row`) with the cached sampler and checks its distribution at every
    /// generated pixel against the model's forward pass on the result (teacher forcing with the
    /// generated sequence). A conditional model draws every class in turn. Returns the largest
    /// difference.
    fn check_against_forward(model: &Model, dims: [usize; 3], start_row: usize, seed: u64) -> f64 {
        let [n, height, width] = dims;
        let (q, pixels) = (model.levels(), height * width);
        let images: Vec<u8> = (0..n * pixels).map(|i| ((i * 7 + i / 5) % q) as u8).collect();
        let labels = labels_for(model, n, seed as usize);
        let labels = labels.as_deref();
        let (levels, cached) = generate_recording(model, &images, labels, dims, start_row, seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        assert_eq!(
            levels,
            complete(model, &images, labels, dims, start_row, &mut rng),
            "recording changed the draws"
        );
        let forward = forward_probabilities(model, &levels, labels, dims);
        let (mut largest, mut largest_log, mut skew) = (0.0f64, 0.0f64, 0.0f64);
        for image in 0..n {
            for pixel in start_row * width..pixels {
                let at = (image * pixels + pixel) * q;
                let mut distance = 0.0;
                for level in 0..q {
                    let (a, b) = (cached[at + level], forward[at + level]);
                    largest = largest.max((a - b).abs());
                    largest_log = largest_log.max((a.ln() - b.ln()).abs());
                    distance += (b - 1.0 / q as f64).abs() / 2.0;
                }
                skew = skew.max(distance);
            }
        }
        let at = format!("{dims:?} from row {start_row}, q={q}");
        assert!(largest <= 1e-4, "{at}: max |p_cached - p_naive| = {largest}");
        // Small probabilities (q = 256) are matched relatively too.
        assert!(largest_log <= 1e-3, "{at}: max |log p_cached - log p_naive| = {largest_log}");
        // Some distributions are far from uniform (total variation), so matching is no coincidence.
        assert!(skew > 0.1, "{at}: distributions too close to uniform (distance {skew})");
        eprintln!(
            "{at}: max |dp| = {largest:.2e}, max |d log p| = {largest_log:.2e}, distance from uniform {skew:.2}"
        );
        for (image, original) in levels.chunks(pixels).zip(images.chunks(pixels)) {
            assert_eq!(image[..start_row * width], original[..start_row * width]);
        }
        largest
    }

    #[test]
    fn cached_matches_forward_pass_q2() {
        let model = model(2, 3, 6, 11);
        check_against_forward(&model, [3, 28, 28], 0, 1);
        check_against_forward(&model, [2, 7, 9], 0, 2);
    }

    #[test]
    fn cached_matches_forward_pass_q256() {
        let model = model(256, 3, 6, 12);
        check_against_forward(&model, [3, 8, 8], 0, 3);
        check_against_forward(&model, [2, 9, 7], 0, 4);
    }

    #[test]
    fn cached_completion_matches_forward_pass() {
        for (q, seed) in [(2, 21), (256, 22)] {
            let model = model(q, 2, 5, seed);
            check_against_forward(&model, [3, 28, 28], 14, seed);
            check_against_forward(&model, [2, 8, 6], 1, seed);
            check_against_forward(&model, [2, 8, 6], 7, seed);
        }
    }

    /// A single block with a single row: the row above is all padding.
    #[test]
    fn one_row_images_and_one_block() {
        let model = model(3, 1, 2, 31);
        check_against_forward(&model, [2, 1, 6], 0, 5);
        check_against_forward(&model, [2, 3, 1], 0, 6);
    }

    /// With the same seed, both samplers draw the same images: their logits differ only by
    /// float rounding, far below the distance of these draws to any class boundary. The models
    /// and seeds are fixed, so this is deterministic; a rare draw within rounding of a boundary
    /// would show up here as a consistent failure, to be fixed by choosing another seed.
    #[test]
    fn same_seed_gives_the_naive_samples() {
        for (q, dims) in [(2, [3, 8, 8]), (256, [3, 8, 8]), (4, [2, 9, 7])] {
            let model = model(q, 3, 6, 40 + q as u64);
            for seed in 0..3 {
                let naive = Sampler::Naive.sample(&model, dims, None, &mut ChaCha8Rng::seed_from_u64(seed));
                let cached = Sampler::Cached.sample(&model, dims, None, &mut ChaCha8Rng::seed_from_u64(seed));
                assert_eq!(cached, naive, "q={q} seed {seed}");
            }
        }
    }

    #[test]
    fn same_seed_gives_the_naive_completions() {
        for q in [2, 256] {
            let model = model(q, 2, 5, 50 + q as u64);
            let dims = [3, 8, 8];
            let images: Vec<u8> = (0..3 * 64).map(|i| ((i * 13) % q) as u8).collect();
            for (seed, start_row) in [(0, 4), (1, 1), (2, 7), (3, 8)] {
                let rng = || ChaCha8Rng::seed_from_u64(seed);
                let naive = sample::complete(&model, &images, None, dims, start_row, &mut rng());
                let cached = complete(&model, &images, None, dims, start_row, &mut rng());
                assert_eq!(cached, naive, "q={q} seed {seed} start row {start_row}");
            }
        }
    }

    #[test]
    fn sampling_accepts_an_autodiff_model_and_empty_batches() {
        let model = Model::from(
            PixelCnnConfig::new(3).with_blocks(1).with_hidden(2).init(&Device::flex().autodiff()),
        );
        let images = Sampler::Cached.sample(&model, [2, 3, 3], None, &mut ChaCha8Rng::seed_from_u64(5));
        assert_eq!(images.len(), 18);
        assert!(images.iter().all(|&level| level < 3));
        assert!(
            Sampler::Cached.sample(&model, [0, 3, 3], None, &mut ChaCha8Rng::seed_from_u64(5)).is_empty()
        );
    }

    /// The gated family: its cached step against its forward pass, unconditional and conditional,
    /// at q = 2 and 256, kernels 3 and 5, from scratch and from a known top half.
    #[test]
    fn gated_cached_matches_forward_pass() {
        for (conditional, seed) in [(false, 61), (true, 62)] {
            let model = gated(2, [3, 6, 3], conditional, seed);
            check_against_forward(&model, [3, 28, 28], 0, seed);
            check_against_forward(&model, [2, 7, 9], 0, seed + 1);
            let model = gated(256, [2, 5, 5], conditional, seed + 2);
            check_against_forward(&model, [3, 8, 8], 0, seed + 2);
            check_against_forward(&model, [2, 9, 7], 0, seed + 3);
        }
    }

    #[test]
    fn gated_cached_completion_matches_forward_pass() {
        for (q, conditional, seed) in [(2, false, 71), (256, true, 72), (4, true, 73)] {
            let model = gated(q, [3, 5, 5], conditional, seed);
            check_against_forward(&model, [3, 28, 28], 14, seed);
            // Fewer known rows than the vertical kernel reaches above, and all but the last.
            check_against_forward(&model, [2, 8, 6], 1, seed);
            check_against_forward(&model, [2, 8, 6], 7, seed);
        }
    }

    /// Single rows and columns, a single layer: the vertical stack sees only padding at first.
    #[test]
    fn gated_one_row_images_and_one_layer() {
        let model = gated(3, [1, 3, 3], true, 81);
        check_against_forward(&model, [2, 1, 6], 0, 5);
        check_against_forward(&model, [2, 3, 1], 0, 6);
    }

    /// With the same seed (and classes) both samplers draw the same gated images and completions.
    #[test]
    fn gated_same_seed_gives_the_naive_samples() {
        for (q, conditional, dims) in [(2, false, [3, 8, 8]), (256, true, [3, 8, 8]), (4, true, [2, 9, 7])] {
            let model = gated(q, [3, 6, 3], conditional, 90 + q as u64);
            let labels = labels_for(&model, dims[0], 3);
            let labels = labels.as_deref();
            for seed in 0..3 {
                let rng = || ChaCha8Rng::seed_from_u64(seed);
                let naive = Sampler::Naive.sample(&model, dims, labels, &mut rng());
                assert_eq!(
                    Sampler::Cached.sample(&model, dims, labels, &mut rng()),
                    naive,
                    "q={q} seed {seed}"
                );
                let naive = sample::complete(&model, &naive, labels, dims, 4, &mut rng());
                let cached = complete(&model, &naive, labels, dims, 4, &mut rng());
                assert_eq!(cached, naive, "q={q} seed {seed}, completion");
            }
        }
    }

    /// A conditional model draws different images for different classes from the same seed, and
    /// refuses to draw without classes.
    #[test]
    fn conditional_samples_follow_their_labels() {
        let model = gated(4, [2, 5, 3], true, 95);
        let dims = [2, 6, 6];
        let rng = || ChaCha8Rng::seed_from_u64(9);
        let threes = Sampler::Cached.sample(&model, dims, Some(&[3, 3]), &mut rng());
        let sevens = Sampler::Cached.sample(&model, dims, Some(&[7, 7]), &mut rng());
        assert_ne!(threes, sevens);
        assert_eq!(Sampler::Cached.sample(&model, dims, Some(&[3, 3]), &mut rng()), threes);
        let unlabelled =
            catch_unwind(AssertUnwindSafe(|| Sampler::Cached.sample(&model, dims, None, &mut rng())));
        assert!(unlabelled.is_err());
        let out_of_range = catch_unwind(AssertUnwindSafe(|| {
            Sampler::Cached.sample(&model, dims, Some(&[3, 10]), &mut rng())
        }));
        assert!(out_of_range.is_err());
    }
}
