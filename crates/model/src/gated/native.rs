//! The gated layers as one native step: on libtorch (with or without autodiff) all gated layers
//! are one step of burn's graph, differentiated by libtorch (see [`crate::native`] for why). Each
//! layer has a dozen element-wise operations around its four convolutions (the gates' halves,
//! tanh, sigmoid and product, the shift, the label biases, the residual); as burn operations each
//! is a node of burn's graph with a backward of several kernels, where libtorch's autograd runs
//! one fused kernel (`bench/profile.md` has the measurements).

use burn::tensor::{Int, Tensor};

use super::layer::{GatedLayer, label_bias};
use crate::native::conv_params;

/// The gated layers one after another on the image `input` `[B, 1, H, W]` (as both stacks):
/// the last layer's horizontal stack, `[B, c, H, W]`. `labels` (`[B]`) are required by
/// conditional layers.
pub(crate) fn gated_layers(
    layers: &[GatedLayer],
    input: Tensor<4>,
    labels: Option<&Tensor<1, Int>>,
) -> Tensor<4> {
    #[cfg(feature = "tch")]
    if crate::native::on_libtorch(&input) {
        return libtorch::gated_layers(layers, input, labels);
    }
    let (mut vertical, mut horizontal) = (Some(input.clone()), input);
    for layer in layers {
        let v = vertical.take().expect("every layer but the last passes its vertical stack on");
        (vertical, horizontal) = layer.forward(v, horizontal, labels);
    }
    horizontal
}

/// Every parameter of the layers as one flat tensor, layer after layer: the vertical, horizontal,
/// vertical-to-horizontal and output convolutions, each kernel (flattened) then its bias.
#[cfg_attr(not(feature = "tch"), allow(dead_code))]
fn packed_parameters(layers: &[GatedLayer]) -> Tensor<1> {
    let mut parts = Vec::with_capacity(8 * layers.len());
    for layer in layers {
        for conv in [&layer.vertical, &layer.horizontal, &layer.vertical_to_horizontal, &layer.output] {
            let (weight, bias) = conv_params(conv);
            parts.extend([weight.flatten::<1>(0, 3), bias]);
        }
    }
    Tensor::cat(parts, 0)
}

/// Each image's label biases `[B, sum]`, layer after layer: the vertical gate's (no layer but the
/// last has none), then the horizontal gate's, `2c` each.
#[cfg_attr(not(feature = "tch"), allow(dead_code))]
fn packed_label_biases(layers: &[GatedLayer], labels: &Tensor<1, Int>) -> Tensor<2> {
    let tables = layers.iter().flat_map(|layer| [&layer.vertical_label, &layer.horizontal_label]);
    Tensor::cat(tables.flatten().map(|table| label_bias(table, labels)).collect(), 1)
}

#[cfg(feature = "tch")]
#[allow(deprecated)] // burn 0.22 marks its libtorch backend deprecated; it is our main backend
mod libtorch {
    //! The gated layers as a backend extension: its libtorch implementation (inference) and its
    //! autodiff implementation, whose backward is libtorch's.

    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::libtorch::TchTensor;
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Autodiff, Backend, Dispatch, LibTorch, backend_extension};
    use burn::tensor::{Int, Tensor};

    use super::super::layer::GatedLayer;
    use super::{packed_label_biases, packed_parameters};
    use crate::native::autograd::native;
    use crate::native::{convolve, convolve_padded};

    /// What the packed tensors hold.
    #[derive(Debug, Clone, Copy)]
    pub struct GatedShapes {
        /// Layers.
        pub layers: usize,
        /// `c`.
        pub channels: usize,
        /// `n`.
        pub kernel: usize,
        /// Whether the layers take label biases.
        pub conditional: bool,
    }

    /// The gated layers, one backward pass for all of them.
    #[backend_extension(Autodiff, LibTorch)]
    pub trait GatedOps: Backend {
        /// [`super::gated_layers`], the parameters packed in `params` ([`super::packed_parameters`])
        /// and the label biases in `biases` (`[B, sum]`, [`super::packed_label_biases`]; `[B, 0]`
        /// for unconditional layers).
        fn native_gated_layers(
            x: FloatTensor<Self>,
            params: FloatTensor<Self>,
            biases: FloatTensor<Self>,
            shapes: GatedShapes,
        ) -> FloatTensor<Self>;
    }

    /// Without autodiff (evaluation, sampling): the same computation as in training, so logits do
    /// not depend on whether gradients are tracked.
    impl GatedOps for LibTorch {
        fn native_gated_layers(
            x: TchTensor,
            params: TchTensor,
            biases: TchTensor,
            shapes: GatedShapes,
        ) -> TchTensor {
            TchTensor::new(layers(&x.tensor, &params.tensor, &biases.tensor, shapes))
        }
    }

    impl<C: CheckpointStrategy> GatedOps for Autodiff<LibTorch, C> {
        fn native_gated_layers(
            x: FloatTensor<Self>,
            params: FloatTensor<Self>,
            biases: FloatTensor<Self>,
            shapes: GatedShapes,
        ) -> FloatTensor<Self> {
            native::<C, 3>([x, params, biases], |[x, params, biases]| layers(x, params, biases, shapes))
        }
    }

    /// `tanh(a) * sigmoid(b)` of pre-activations whose first half of channels is `a`.
    fn gate(x: &tch::Tensor) -> tch::Tensor {
        let halves = x.chunk(2, 1);
        halves[0].tanh() * halves[1].sigmoid()
    }

    /// [`super::gated_layers`] on libtorch tensors, the computation of
    /// [`GatedLayer::forward`] layer after layer.
    fn layers(x: &tch::Tensor, params: &tch::Tensor, biases: &tch::Tensor, s: GatedShapes) -> tch::Tensor {
        let int = |n: usize| i64::try_from(n).expect("sizes fit i64");
        let (c, n, half) = (int(s.channels), int(s.kernel), s.kernel / 2);
        let p = int(half);
        let [_, _, height, width] = x.size()[..] else { panic!("images are [B, 1, H, W]") };
        let mut offset = 0;
        let mut take = |shape: &[i64]| {
            let len: i64 = shape.iter().product();
            offset += len;
            params.narrow(0, offset - len, len).view(shape)
        };
        let mut bias_offset = 0;
        let mut label = |present: bool| {
            (present && s.conditional).then(|| {
                bias_offset += 2 * c;
                biases.narrow(1, bias_offset - 2 * c, 2 * c).view([-1, 2 * c, 1, 1])
            })
        };
        let (mut vertical, mut horizontal) = (x.shallow_clone(), x.shallow_clone());
        for index in 0..s.layers {
            let (first, last) = (index == 0, index + 1 == s.layers);
            let input = if first { 1 } else { c };
            let width_h = if first { p } else { p + 1 };
            let (wv, bv) = (take(&[2 * c, input, p + 1, n]), take(&[2 * c]));
            let (wh, bh) = (take(&[2 * c, input, 1, width_h]), take(&[2 * c]));
            let (wvh, bvh) = (take(&[2 * c, 2 * c, 1, 1]), take(&[2 * c]));
            let (wo, bo) = (take(&[c, c, 1, 1]), take(&[c]));
            let (vertical_bias, horizontal_bias) = (label(!last), label(true));
            let v = convolve_padded(&vertical, &wv, &bv, [half, half, half, 0]);
            let h = convolve_padded(&horizontal, &wh, &bh, [half, 0, 0, 0]).narrow(3, 0, width);
            let shifted = convolve_padded(&v, &wvh, &bvh, [0, 0, 1, 0]).narrow(2, 0, height);
            let mut pre = h + shifted;
            if let Some(bias) = horizontal_bias {
                pre += bias;
            }
            let out = convolve(&gate(&pre), &wo, &bo);
            horizontal = if first { out } else { out + &horizontal };
            if !last {
                vertical = gate(&match vertical_bias {
                    Some(bias) => v + bias,
                    None => v,
                });
            }
        }
        horizontal
    }

    /// The extension's gated layers; `input` must be on libtorch ([`crate::native::on_libtorch`]).
    pub(super) fn gated_layers(
        layers: &[GatedLayer],
        input: Tensor<4>,
        labels: Option<&Tensor<1, Int>>,
    ) -> Tensor<4> {
        let [batch, ..] = input.dims();
        let classes = layers[0].classes();
        let biases = match labels.filter(|_| classes.is_some()) {
            Some(labels) => packed_label_biases(layers, labels),
            None => {
                assert!(classes.is_none(), "a label-conditional model needs the images' labels");
                Tensor::zeros([batch, 0], &input.device())
            }
        };
        let shapes = GatedShapes {
            layers: layers.len(),
            channels: layers[0].output.weight.dims()[0],
            kernel: layers[0].vertical.kernel_size[1],
            conditional: classes.is_some(),
        };
        Tensor::from_dispatch(<Dispatch as GatedOps>::native_gated_layers(
            input.into_dispatch(),
            packed_parameters(layers).into_dispatch(),
            biases.into_dispatch(),
            shapes,
        ))
    }
}
