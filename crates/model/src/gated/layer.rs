//! One gated layer (figure 2 of van den Oord et al., 2016, "Conditional Image Generation with
//! PixelCNN Decoders"): a vertical and a horizontal stack, each closed by a gated unit
//! `tanh(a) * sigmoid(b)`, the vertical stack feeding the horizontal one.

use burn::config::Config;
use burn::module::{Initializer, Module};
use burn::nn::conv::Conv2d;
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::{Device, Int, Tensor};

use crate::init::conv;
use crate::native::{ConvParams, Padding, conv_params, padded_conv2d};

/// Configuration of a [`GatedLayer`].
#[derive(Config, Debug)]
pub struct GatedLayerConfig {
    /// Channels of the layer's inputs: 1 (the image) for the first layer, else `channels`.
    pub in_channels: usize,
    /// `c`: channels of both stacks' outputs; each gate takes `2c` pre-activations.
    pub channels: usize,
    /// `n`, the kernel size (odd, at least 3).
    pub kernel: usize,
    /// Whether this is the first layer: its horizontal stack must not see the current pixel
    /// (the image's own value there is what is predicted), and it has no residual connection.
    pub first: bool,
    /// Whether this is the last layer: nothing reads its vertical stack's output, so it has no
    /// vertical gate (nor a vertical label bias, which would never get a gradient).
    #[config(default = false)]
    pub last: bool,
    /// Classes of a label-conditional model (none: unconditional).
    pub classes: Option<usize>,
}

impl GatedLayerConfig {
    /// Builds the layer with Keras' default initialisation (Glorot-uniform kernels, zero biases);
    /// the label biases start at zero, so a conditional model starts as its unconditional twin.
    ///
    /// # Panics
    /// If `kernel` is even or below 3.
    pub fn init(&self, device: &Device) -> GatedLayer {
        let (k, c) = (self.kernel, self.channels);
        assert!(k >= 3 && k % 2 == 1, "gated layers need an odd kernel of at least 3, got {k}");
        let half = k / 2;
        // The first layer's horizontal kernel stops left of the current pixel (the paper's mask A).
        let horizontal_width = if self.first { half } else { half + 1 };
        let label = || {
            self.classes
                .map(|n| EmbeddingConfig::new(n, 2 * c).with_initializer(Initializer::Zeros).init(device))
        };
        GatedLayer {
            vertical: conv(self.in_channels, 2 * c, [half + 1, k], device),
            horizontal: conv(self.in_channels, 2 * c, [1, horizontal_width], device),
            vertical_to_horizontal: conv(2 * c, 2 * c, [1, 1], device),
            output: conv(c, c, [1, 1], device),
            vertical_label: if self.last { None } else { label() },
            horizontal_label: label(),
            residual: !self.first,
            last: self.last,
        }
    }
}

/// Gated layer on `c`-channel stacks (field by field, one step of the paper's figure 2):
///
/// - vertical stack: a `(n/2 + 1) x n` convolution over the rows above and the current one (the
///   input padded by `n / 2` zeros above and on the sides, none below), then the gate: its
///   output at a row depends on the image's rows up to that one only;
/// - vertical to horizontal: the vertical pre-activations one row down (row `i` receives row
///   `i - 1`), through a 1x1 convolution, added to the horizontal pre-activations: the
///   horizontal stack sees every column of the rows above, hence no blind spot;
/// - horizontal stack: a `1 x (n/2 + 1)` convolution over the current row up to the current
///   column (`1 x n/2`, left of it, in the first layer), the gate, a 1x1 convolution and the
///   layer's input added (residual; not in the first layer, whose input is the image).
///
/// A label-conditional layer adds a learned per-class bias to both stacks' pre-activations
/// before their gates (the paper's `V^T h` with a one-hot `h`).
#[derive(Module, Debug)]
pub struct GatedLayer {
    /// `(n/2 + 1) x n` convolution `in -> 2c` of the vertical stack.
    pub vertical: Conv2d,
    /// `1 x (n/2 + 1)` (first layer: `1 x n/2`) convolution `in -> 2c` of the horizontal stack.
    pub horizontal: Conv2d,
    /// 1x1 convolution `2c -> 2c` from the vertical pre-activations (shifted one row down) into
    /// the horizontal gate.
    pub vertical_to_horizontal: Conv2d,
    /// 1x1 convolution `c -> c` after the horizontal gate.
    pub output: Conv2d,
    /// Per-class bias `[classes, 2c]` of the vertical gate (conditional models, all but the last
    /// layer).
    pub vertical_label: Option<Embedding>,
    /// Per-class bias `[classes, 2c]` of the horizontal gate (conditional models).
    pub horizontal_label: Option<Embedding>,
    /// Whether the layer's input is added to its horizontal output (all but the first layer).
    pub residual: bool,
    /// Whether this is the last layer, whose vertical stack ends at the vertical-to-horizontal
    /// connection.
    pub last: bool,
}

/// What a gated layer passes on: the vertical stack (`None` after the last layer, which nobody
/// reads) and the horizontal stack, `[B, c, H, W]` each.
pub type Stacks = (Option<Tensor<4>>, Tensor<4>);

impl GatedLayer {
    /// Maps the stacks `vertical` and `horizontal` (`[B, in, H, W]`; the image for the first
    /// layer) to the next ones, `[B, c, H, W]` (no vertical one after the last layer). `labels`
    /// (`[B]`, the images' classes) are required by a conditional layer.
    pub fn forward(
        &self,
        vertical: Tensor<4>,
        horizontal: Tensor<4>,
        labels: Option<&Tensor<1, Int>>,
    ) -> Stacks {
        let [_, _, height, width] = horizontal.dims();
        // The vertical kernel has `n / 2 + 1` rows.
        let half = self.vertical.kernel_size[0] - 1;
        let (v_weight, v_bias) = conv_params(&self.vertical);
        let v = padded_conv2d(vertical, v_weight, v_bias, [half, half, half, 0]);
        let (h_weight, h_bias) = conv_params(&self.horizontal);
        // `half` zeros on the left; the first layer's narrower kernel then yields one column more
        // than the image, whose last one (it would see the current pixel) is dropped.
        let h = padded_conv2d(horizontal.clone(), h_weight, h_bias, [half, 0, 0, 0]).narrow(3, 0, width);
        let shifted = shift_down(v.clone(), conv_params(&self.vertical_to_horizontal), height);
        let h_gate = gate(with_label(h + shifted, self.horizontal_label.as_ref(), labels));
        let (o_weight, o_bias) = conv_params(&self.output);
        let h_out = padded_conv2d(h_gate, o_weight, o_bias, [0; 4]);
        let h_out = if self.residual { h_out + horizontal } else { h_out };
        let v_out = (!self.last).then(|| gate(with_label(v, self.vertical_label.as_ref(), labels)));
        (v_out, h_out)
    }

    /// The number of classes of a conditional layer; `None` when unconditional.
    pub fn classes(&self) -> Option<usize> {
        self.horizontal_label.as_ref().map(|table| table.weight.dims()[0])
    }
}

/// `tanh(a) * sigmoid(b)` of pre-activations `[B, 2c, H, W]` whose first `c` channels are `a`,
/// the last `c` `b`: `[B, c, H, W]`.
pub(crate) fn gate<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let [a, b] = <[Tensor<D>; 2]>::try_from(x.chunk(2, 1)).expect("an even number of channels");
    tanh(a) * sigmoid(b)
}

/// `x` `[B, 2c, H, W]` plus each image's class bias from `table` (none without one).
///
/// # Panics
/// If the layer is conditional and `labels` are missing.
fn with_label(x: Tensor<4>, table: Option<&Embedding>, labels: Option<&Tensor<1, Int>>) -> Tensor<4> {
    match table {
        Some(table) => {
            let labels = labels.expect("a label-conditional model needs the images' labels");
            let [n, channels] = [x.dims()[0], x.dims()[1]];
            x + label_bias(table, labels).reshape([n, channels, 1, 1])
        }
        None => x,
    }
}

/// The rows of `table` for `labels` `[B]`: `[B, 2c]`.
pub(crate) fn label_bias(table: &Embedding, labels: &Tensor<1, Int>) -> Tensor<2> {
    let [n] = labels.dims();
    let [_, width] = table.weight.dims();
    table.forward(labels.clone().reshape([n, 1])).reshape([n, width])
}

/// The 1x1 convolution `params` of `v` (`[B, 2c, H, W]`) shifted one row down: row `i` of the
/// result is the convolution of row `i - 1`, row 0 that of zeros (the bias). A convolution of the
/// input padded by one zero row above, its last row dropped.
pub(crate) fn shift_down(v: Tensor<4>, (weight, bias): ConvParams, height: usize) -> Tensor<4> {
    const ONE_ROW_ABOVE: Padding = [0, 0, 1, 0];
    padded_conv2d(v, weight, bias, ONE_ROW_ABOVE).narrow(2, 0, height)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData};

    #[test]
    fn layers_keep_the_image_size() {
        let device = Device::flex();
        let first = GatedLayerConfig::new(1, 4, 5, true).init(&device);
        let x = Tensor::<4>::random([2, 1, 6, 7], Distribution::Default, &device);
        let (v, h) = first.forward(x.clone(), x, None);
        assert_eq!(v.expect("kept").dims(), [2, 4, 6, 7]);
        assert_eq!(h.dims(), [2, 4, 6, 7]);
        assert_eq!(first.horizontal.weight.dims(), [8, 1, 1, 2]);
        assert_eq!(first.vertical.weight.dims(), [8, 1, 3, 5]);
        let last = GatedLayerConfig::new(4, 4, 5, false).with_last(true).init(&device);
        assert_eq!(last.horizontal.weight.dims(), [8, 4, 1, 3]);
        let (v, _) = last.forward(h.clone(), h, None);
        assert!(v.is_none());
    }

    #[test]
    fn gate_is_tanh_times_sigmoid() {
        let device = Device::flex();
        let x = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, -1.0, 2.0, 0.0], [1, 4]), &device);
        let gated = gate(x).try_into_vec_as::<f32>().unwrap();
        let expected = [0.5f32.tanh() / (1.0 + (-2.0f32).exp()), (-1.0f32).tanh() * 0.5];
        for (g, e) in gated.iter().zip(expected) {
            assert!((g - e).abs() < 1e-6, "{g} vs {e}");
        }
    }

    #[test]
    fn shift_down_moves_rows_by_one() {
        let device = Device::flex();
        let v = Tensor::<4>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [1, 1, 2, 2]), &device);
        let identity = (Tensor::<4>::ones([1, 1, 1, 1], &device), Tensor::<1>::from_floats([0.5], &device));
        let shifted = shift_down(v, identity, 2).try_into_vec_as::<f32>().unwrap();
        assert_eq!(shifted, vec![0.5, 0.5, 1.5, 2.5]);
    }

    /// A conditional layer's output depends on the label once its biases are not zero.
    #[test]
    fn labels_bias_both_gates() {
        let device = Device::flex();
        let mut layer = GatedLayerConfig::new(1, 3, 3, true).with_classes(Some(10)).init(&device);
        assert_eq!(layer.classes(), Some(10));
        let last = GatedLayerConfig::new(1, 3, 3, true).with_last(true).with_classes(Some(10)).init(&device);
        assert!(last.vertical_label.is_none(), "a last layer has no vertical gate to bias");
        for table in [&mut layer.vertical_label, &mut layer.horizontal_label] {
            let table = table.as_mut().expect("conditional");
            table.weight = burn::module::Param::from_tensor(Tensor::random(
                [10, 6],
                Distribution::Uniform(-1.0, 1.0),
                &device,
            ));
        }
        let x = Tensor::<4>::random([2, 1, 4, 4], Distribution::Default, &device);
        let run = |labels: [i64; 2]| {
            let labels = Tensor::<1, Int>::from_data(TensorData::new(labels.to_vec(), [2]), &device);
            let (v, h) = layer.forward(x.clone(), x.clone(), Some(&labels));
            (v.expect("kept").try_into_vec_as::<f32>().unwrap(), h.try_into_vec_as::<f32>().unwrap())
        };
        let (v_a, h_a) = run([1, 2]);
        let (v_b, h_b) = run([3, 2]);
        let per_image = v_a.len() / 2;
        assert_ne!(v_a[..per_image], v_b[..per_image]);
        assert_ne!(h_a[..per_image], h_b[..per_image]);
        assert_eq!(v_a[per_image..], v_b[per_image..], "image 2 kept its label");
        assert_eq!(h_a[per_image..], h_b[per_image..], "image 2 kept its label");
    }
}
