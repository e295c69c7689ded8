//! The gated PixelCNN (van den Oord et al., 2016, "Conditional Image Generation with PixelCNN
//! Decoders"), the family `gated`: gated layers of a vertical and a horizontal stack, whose
//! receptive field covers every earlier pixel (the seed's PixelCNN never sees a triangle of pixels
//! above and to the right of the current one, its blind spot), and the seed's head and loss on the
//! horizontal stack. Optionally conditioned on the digit's class.
//!
//! The family's folder holds the module and its configuration (here), its layer (`layer.rs`), its
//! fused libtorch step (`native.rs`: all gated layers as one step of burn's graph) and its step of
//! the cached sampler (`cached.rs`). No mask is needed: every convolution is made causal by where
//! its input is padded ([`crate::native::padded_conv2d`]).

pub(crate) mod cached;
pub mod layer;
mod native;

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Int, Tensor};

use crate::init::conv1x1;
use crate::native::{conv1x1_forward, relu};
use layer::{GatedLayer, GatedLayerConfig};
use native::gated_layers;

/// Configuration of a [`GatedPixelCnn`].
#[derive(Config, Debug)]
pub struct GatedPixelCnnConfig {
    /// `q`: number of quantisation levels per pixel, `2..=256`.
    pub levels: usize,
    /// Gated layers.
    #[config(default = 15)]
    pub layers: usize,
    /// `c`: channels of both stacks.
    #[config(default = 64)]
    pub channels: usize,
    /// `n`: kernel size (odd, at least 3).
    #[config(default = 3)]
    pub kernel: usize,
    /// Classes of a label-conditional model (10 for MNIST's digits); none: unconditional.
    pub classes: Option<usize>,
}

impl GatedPixelCnnConfig {
    /// Builds the model with Keras' default initialisation (Glorot-uniform kernels, zero biases and
    /// label biases).
    ///
    /// # Panics
    /// If `levels` is outside `2..=256`, `layers` is 0, or `kernel` is even or below 3.
    pub fn init(&self, device: &Device) -> GatedPixelCnn {
        let q = self.levels;
        assert!((2..=256).contains(&q), "levels must be in 2..=256, got {q}");
        assert!(self.layers >= 1, "a gated PixelCNN needs at least one layer");
        let c = self.channels;
        let last = self.layers - 1;
        let layer = |index: usize| {
            let input = if index == 0 { 1 } else { c };
            GatedLayerConfig::new(input, c, self.kernel, index == 0)
                .with_last(index == last)
                .with_classes(self.classes)
                .init(device)
        };
        GatedPixelCnn {
            layers: (0..self.layers).map(layer).collect(),
            hidden_conv: conv1x1(c, c, device),
            output_conv: conv1x1(c, q, device),
            levels: q,
        }
    }

    /// Multiply-adds per pixel of one forward pass: what time estimates scale with.
    pub fn macs_per_pixel(&self) -> f64 {
        let (c, k, q) = (self.channels as f64, self.kernel as f64, self.levels as f64);
        let half = (self.kernel / 2) as f64;
        let layer = |input: f64, horizontal_width: f64| {
            (half + 1.0) * k * input * 2.0 * c + horizontal_width * input * 2.0 * c + 4.0 * c * c + c * c
        };
        let first = layer(1.0, half);
        let rest = (self.layers.saturating_sub(1)) as f64 * layer(c, half + 1.0);
        first + rest + c * c + c * q
    }
}

/// Gated PixelCNN over single-channel images: the logits at pixel `(i, j)` depend on every pixel
/// before `(i, j)` in raster order (given enough layers for the image) and on no other, so, like
/// the seed's model, one forward pass gives every conditional of the image's likelihood.
///
/// Its parameter count is burn's `Module::num_params` (no masked taps: the kernels hold only the
/// taps they use).
#[derive(Module, Debug)]
pub struct GatedPixelCnn {
    /// The gated layers; the first reads the image into both stacks.
    pub layers: Vec<GatedLayer>,
    /// 1x1 convolution `c -> c` after a relu of the last horizontal stack.
    pub hidden_conv: Conv2d,
    /// 1x1 convolution `c -> q` after a relu: the logits.
    pub output_conv: Conv2d,
    /// `q`, the number of levels (a constant, not a parameter).
    pub levels: usize,
}

impl GatedPixelCnn {
    /// Maps images `[B, 1, H, W]` with values `level / (q - 1)` in `[0, 1]` to unnormalised
    /// log-probabilities `[B, q, H, W]` of each pixel's level. `labels` `[B]` (the images'
    /// classes) are required by a conditional model and ignored by an unconditional one.
    ///
    /// # Panics
    /// If the model is conditional and `labels` are missing.
    pub fn forward(&self, input: Tensor<4>, labels: Option<Tensor<1, Int>>) -> Tensor<4> {
        let labels = labels.filter(|_| self.classes().is_some());
        // All layers in one call: on libtorch one step of burn's graph (`native.rs`).
        let horizontal = gated_layers(&self.layers, input, labels.as_ref());
        let x = conv1x1_forward(&self.hidden_conv, relu(horizontal));
        conv1x1_forward(&self.output_conv, relu(x))
    }

    /// The number of classes of a label-conditional model; `None` when unconditional.
    pub fn classes(&self) -> Option<usize> {
        self.layers[0].classes()
    }

    /// The device the model's tensors live on, read without initialising lazy parameters.
    pub fn device(&self) -> Device {
        self.output_conv.weight.device()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::store::ModuleRecord;
    use burn::tensor::{Distribution, TensorData};

    fn tiny(levels: usize, classes: Option<usize>) -> GatedPixelCnn {
        GatedPixelCnnConfig::new(levels)
            .with_layers(3)
            .with_channels(4)
            .with_kernel(3)
            .with_classes(classes)
            .init(&Device::flex())
    }

    #[test]
    fn logits_have_one_channel_per_level() {
        let model = tiny(5, None);
        let input = Tensor::<4>::random([3, 1, 6, 7], Distribution::Default, &model.device());
        assert_eq!(model.forward(input, None).dims(), [3, 5, 6, 7]);
        assert_eq!(model.classes(), None);
        assert_eq!(tiny(5, Some(10)).classes(), Some(10));
    }

    /// Parameters of each layer: vertical `2c.in.(n/2+1).n + 2c`, horizontal `2c.in.w + 2c`
    /// (`w = n/2` first, `n/2 + 1` after), 1x1 `2c.2c + 2c` and `c.c + c`, and per class `2c`
    /// label biases for each gate (the last layer has no vertical gate); head `c.c + c` and
    /// `c.q + q`.
    #[test]
    fn parameter_count_follows_the_architecture() {
        let (c, q) = (4, 5);
        let layer = |input: usize, width: usize| {
            2 * c * input * 2 * 3 + 2 * c + 2 * c * input * width + 2 * c + 4 * c * c + 2 * c + c * c + c
        };
        let head = c * c + c + c * q + q;
        assert_eq!(tiny(q, None).num_params(), layer(1, 1) + 2 * layer(c, 2) + head);
        assert_eq!(tiny(q, Some(10)).num_params(), layer(1, 1) + 2 * layer(c, 2) + head + 5 * 10 * 2 * c);
        // The same count as the MAC estimate's taps (without biases and label biases).
        let config = GatedPixelCnnConfig::new(q).with_layers(3).with_channels(c).with_kernel(3);
        let weights =
            (2 * c * 2 * 3 + 2 * c) + 2 * (2 * c * c * 2 * 3 + 2 * c * c * 2) + 3 * 5 * c * c + c * c + c * q;
        assert_eq!(config.macs_per_pixel(), weights as f64);
    }

    #[test]
    fn default_size_is_of_the_order_of_the_seed_model() {
        let params = GatedPixelCnnConfig::new(256).init(&Device::flex()).num_params();
        assert_eq!(params, 1_253_120);
    }

    /// A conditional model's logits change with the label (biases scrambled) and without labels
    /// it refuses to run; an unconditional one ignores labels.
    #[test]
    fn conditional_models_need_and_use_labels() {
        let model = tiny(3, None);
        let device = model.device();
        let input = Tensor::<4>::random([2, 1, 4, 4], Distribution::Default, &device);
        let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 7], [2]), &device);
        let plain = model.forward(input.clone(), None).try_into_vec_as::<f32>().unwrap();
        assert_eq!(model.forward(input.clone(), Some(labels)).try_into_vec_as::<f32>().unwrap(), plain);
        let conditional = tiny(3, Some(10));
        let missing =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| conditional.forward(input, None)));
        assert!(missing.is_err());
    }

    /// A checkpoint of a conditional model reloads with its label biases.
    #[test]
    fn records_round_trip() {
        let saved = tiny(3, Some(10));
        let device = saved.device();
        let input = Tensor::<4>::random([2, 1, 4, 5], Distribution::Default, &device);
        let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![4i64, 9], [2]), &device);
        let expected = saved.forward(input.clone(), Some(labels.clone())).try_into_vec_as::<f32>().unwrap();
        let bytes = saved.into_record().into_bytes().unwrap();
        let loaded = tiny(3, Some(10)).load_record(ModuleRecord::from_bytes(bytes).unwrap());
        assert_eq!(loaded.forward(input, Some(labels)).try_into_vec_as::<f32>().unwrap(), expected);
    }
}
