//! The seed's PixelCNN, the family `pixelcnn`: a mask-A input convolution, a stack of residual
//! blocks and a 1x1 head that predicts a categorical distribution over `q` levels for every pixel.
//!
//! The family's folder holds everything specific to it: the module and its configuration (here),
//! its residual block (`residual.rs`), its fused libtorch step (`native.rs`: all residual blocks as
//! one step of burn's graph) and its step of the cached sampler (`cached.rs`).

pub(crate) mod cached;
mod native;
pub mod residual;

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Tensor};

use crate::init::conv1x1;
use crate::mask::MaskType;
use crate::masked_conv::{MaskedConv2d, MaskedConv2dConfig};
use crate::native::{conv1x1_forward, relu};
use native::residual_blocks;
use residual::{ResidualBlock, ResidualBlockConfig};

/// Configuration of a [`PixelCnn`]; the defaults are the seed notebook's model.
#[derive(Config, Debug)]
pub struct PixelCnnConfig {
    /// `q`: number of quantisation levels per pixel, `2..=256` (the seed uses 2 and 256).
    pub levels: usize,
    /// Number of residual blocks.
    #[config(default = 15)]
    pub blocks: usize,
    /// `h`: the residual stream has `2h` channels.
    #[config(default = 64)]
    pub hidden: usize,
    /// Kernel size of the mask-A input convolution (odd).
    #[config(default = 7)]
    pub first_kernel: usize,
}

impl PixelCnnConfig {
    /// Builds the model with Keras' default initialisation (Glorot-uniform kernels, zero biases).
    ///
    /// # Panics
    /// If `levels` is outside `2..=256` (levels are stored as `u8`) or `first_kernel` is even.
    pub fn init(&self, device: &Device) -> PixelCnn {
        let q = self.levels;
        assert!((2..=256).contains(&q), "levels must be in 2..=256, got {q}");
        let stream = 2 * self.hidden;
        let block = ResidualBlockConfig::new(self.hidden);
        PixelCnn {
            input_conv: MaskedConv2dConfig::new(1, stream, self.first_kernel, MaskType::A).init(device),
            blocks: (0..self.blocks).map(|_| block.init(device)).collect(),
            hidden_conv: conv1x1(stream, stream, device),
            output_conv: conv1x1(stream, q, device),
            levels: q,
        }
    }

    /// Multiply-adds per pixel of one forward pass, masked taps counted (dense kernels compute
    /// them): what time estimates scale with.
    pub fn macs_per_pixel(&self) -> f64 {
        let (h, k, q) = (self.hidden as f64, self.first_kernel as f64, self.levels as f64);
        let first = k * k * 2.0 * h;
        let block = 2.0 * h * h + 9.0 * h * h + h * 2.0 * h;
        let head = 4.0 * h * h + 2.0 * h * q;
        first + self.blocks as f64 * block + head
    }
}

/// PixelCNN over single-channel images: the logits at pixel `(i, j)` depend only on the pixels
/// before `(i, j)` in raster order, so one forward pass gives every conditional of the image's
/// likelihood at once (training, evaluation); the naive sampler runs it once per pixel, the cached
/// one computes each layer only at the new pixel.
///
/// Its parameter count is burn's `Module::num_params`, which counts every element including the
/// masked taps, as Keras does (825,730 at `q = 2` and 858,496 at `q = 256` for the defaults).
#[derive(Module, Debug)]
pub struct PixelCnn {
    /// 7x7 mask-A convolution `1 -> 2h`.
    pub input_conv: MaskedConv2d,
    /// Residual blocks on the `2h`-channel stream.
    pub blocks: Vec<ResidualBlock>,
    /// 1x1 convolution `2h -> 2h` after a relu.
    pub hidden_conv: Conv2d,
    /// 1x1 convolution `2h -> q` after a relu: the logits.
    pub output_conv: Conv2d,
    /// `q`, the number of levels (a constant, not a parameter).
    pub levels: usize,
}

impl PixelCnn {
    /// Maps images `[B, 1, H, W]` with values `level / (q - 1)` in `[0, 1]` (the seed's inputs) to
    /// unnormalised log-probabilities `[B, q, H, W]` of each pixel's level.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let x = self.input_conv.forward(input);
        // All blocks in one call: on libtorch one step of burn's graph (`native.rs`).
        let x = residual_blocks(x, self.blocks.iter().map(ResidualBlock::convs).collect());
        let x = conv1x1_forward(&self.hidden_conv, relu(x));
        conv1x1_forward(&self.output_conv, relu(x))
    }

    /// The device the model's tensors live on, read without initialising lazy parameters, so that
    /// inputs can be built where the model is.
    pub fn device(&self) -> Device {
        self.input_conv.mask.device()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::glorot_limit;
    use burn::module::{ModuleVisitor, Param};
    use burn::store::ModuleRecord;
    use burn::tensor::{Distribution, TensorData};

    fn tiny(levels: usize) -> PixelCnn {
        PixelCnnConfig::new(levels).with_blocks(2).with_hidden(4).init(&Device::flex())
    }

    #[test]
    fn default_parameter_counts_match_keras() {
        let device = Device::flex();
        assert_eq!(PixelCnnConfig::new(2).init(&device).num_params(), 825_730);
        assert_eq!(PixelCnnConfig::new(256).init(&device).num_params(), 858_496);
    }

    /// The estimate that sweeps plan with, as it was computed before it moved here from the
    /// sweep crate (same values to the last bit).
    #[test]
    fn macs_per_pixel_count_every_tap() {
        assert_eq!(PixelCnnConfig::new(2).macs_per_pixel(), 821_632.0);
        assert_eq!(PixelCnnConfig::new(256).macs_per_pixel(), 854_144.0);
        let small = PixelCnnConfig::new(4).with_blocks(1).with_hidden(4).with_first_kernel(3);
        assert_eq!(small.macs_per_pixel(), 376.0);
        // 7x7x2h + one block (2h.h + 9h.h + h.2h) + head (4h.h + 2h.q) at h = 4, q = 4.
        assert_eq!(small.with_first_kernel(7).macs_per_pixel(), 392.0 + 208.0 + 96.0);
    }

    #[test]
    fn logits_have_one_channel_per_level() {
        let device = Device::flex();
        let model = tiny(5);
        let input = Tensor::<4>::random([3, 1, 6, 7], Distribution::Default, &device);
        assert_eq!(model.forward(input).dims(), [3, 5, 6, 7]);
    }

    /// Checks every parameter: biases are zero, kernels lie within their Glorot limit and reach
    /// close to it.
    struct InitChecker {
        kernels: usize,
        biases: usize,
    }

    impl ModuleVisitor for InitChecker {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let tensor = param.val();
            let dims = tensor.dims();
            let values = tensor.try_into_vec_as::<f32>().unwrap();
            match dims[..] {
                [_] => {
                    assert!(values.iter().all(|v| *v == 0.0), "non-zero bias");
                    self.biases += 1;
                }
                [out, input, k, _] => {
                    let limit = glorot_limit(input, out, k) as f32;
                    let max_abs = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                    assert!(max_abs <= limit, "{dims:?}: {max_abs} above {limit}");
                    assert!(max_abs > 0.8 * limit, "{dims:?}: {max_abs} far below {limit}");
                    self.kernels += 1;
                }
                _ => panic!("unexpected parameter of shape {dims:?}"),
            }
        }
    }

    #[test]
    fn init_matches_keras_defaults() {
        let model = PixelCnnConfig::new(3).with_blocks(2).with_hidden(8).init(&Device::flex());
        let mut checker = InitChecker { kernels: 0, biases: 0 };
        model.visit(&mut checker);
        assert_eq!((checker.kernels, checker.biases), (9, 9));
    }

    /// Runs the model on `image` (`[H, W]`, row-major) and returns its logits `[q, H, W]`.
    fn logits(model: &PixelCnn, image: &[f32], height: usize, width: usize) -> Vec<f32> {
        let data = TensorData::new(image.to_vec(), [1, 1, height, width]);
        let input = Tensor::<4>::from_data(data, &model.device());
        model.forward(input).try_into_vec_as::<f32>().unwrap()
    }

    #[test]
    fn logits_depend_only_on_earlier_pixels() {
        let (height, width, q) = (6, 5, 3);
        let model = tiny(q);
        let pixels = height * width;
        // A fixed pseudo-random image in [0, 1] (a Weyl sequence).
        let image: Vec<f32> = (0..pixels).map(|i| (i as f32 * 0.618_034) % 1.0).collect();
        let before = logits(&model, &image, height, width);
        for changed in [0, 4, 5, 9, 13, 24, 25, 29] {
            let mut altered = image.clone();
            altered[changed] += 1.0;
            let after = logits(&model, &altered, height, width);
            let diff = |position: usize| {
                (0..q)
                    .map(|level| {
                        let index = level * pixels + position;
                        (after[index] - before[index]).abs()
                    })
                    .fold(0.0f32, f32::max)
            };
            for position in 0..=changed {
                assert!(diff(position) <= 1e-6, "changing pixel {changed} moved the logits at {position}");
            }
            if changed + 1 < pixels {
                let largest = (changed + 1..pixels).map(diff).fold(0.0f32, f32::max);
                assert!(largest > 1e-4, "changing pixel {changed} moved no later logit");
            }
        }
    }

    /// A checkpoint holds the 18 kernels and biases of a tiny model but not its masks, and loading
    /// it into a freshly initialised model reproduces the saved model's logits.
    #[test]
    fn checkpoints_round_trip_without_masks() {
        let (height, width) = (4, 5);
        let saved = tiny(3);
        let image: Vec<f32> = (0..height * width).map(|i| (i % 3) as f32 / 2.0).collect();
        let expected = logits(&saved, &image, height, width);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bpk");
        saved.save_file(&path).unwrap();
        assert_eq!(ModuleRecord::load(&path).unwrap().len(), 18);
        let loaded = tiny(3).load_file(&path);
        assert_eq!(logits(&loaded, &image, height, width), expected);
    }
}
