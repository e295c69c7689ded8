//! The models' convolutions, all stride 1: the causal one (an odd square kernel, 'same' padding,
//! and a kernel whose rows below the centre are zero, as under masks A and B and in any 1x1
//! kernel, which libtorch then skips), and the padded one (any kernel over an input padded with
//! zeros on each side by its own amount: the gated PixelCNN's stacks and shifts).

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use burn::tensor::module::conv2d;
use burn::tensor::ops::{ConvOptions, PadMode};

/// A kernel `[out, in, kh, kw]` and its bias `[out]`, as [`causal_conv2d`] and [`padded_conv2d`]
/// take them.
pub type ConvParams = (Tensor<4>, Tensor<1>);

/// Zeros added to a convolution's input on each side, `[left, right, top, bottom]`.
pub type Padding = [usize; 4];

/// The models' convolutions: stride 1, an odd square kernel, 'same' padding (`k / 2` zeros on
/// every side): `x` `[B, in, H, W]`, `weight` `[out, in, k, k]`, `bias` `[out]` -> `[B, out, H, W]`.
///
/// The kernel's rows below its centre must be zero, as they are under masks A and B and in any
/// 1x1 kernel: libtorch skips them. Equal in value (within float rounding) to
/// `conv2d(x, weight, Some(bias), ConvOptions::new([1, 1], [k / 2; 2], [1, 1], 1))`, which is what
/// other backends compute; on libtorch its backward is libtorch's native convolution backward.
pub fn causal_conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>) -> Tensor<4> {
    #[cfg(feature = "tch")]
    if super::on_libtorch(&x) {
        return libtorch::causal_conv2d(x, weight, bias);
    }
    let [_, _, k, _] = weight.dims();
    conv2d(x, weight, Some(bias), ConvOptions::new([1, 1], [k / 2, k / 2], [1, 1], 1))
}

/// A stride-1 convolution of `x` `[B, in, H, W]` padded with zeros by `padding` (`[left, right,
/// top, bottom]`), with `weight` `[out, in, kh, kw]` and `bias` `[out]`: the output is
/// `[B, out, H + top + bottom - kh + 1, W + left + right - kw + 1]`. Uneven padding makes a
/// kernel causal without a mask (the gated PixelCNN's vertical stack: `kh = k / 2 + 1` rows over
/// `k / 2` zeros above and none below), or shifts a map (one zero row above, the last row
/// dropped). On libtorch its backward is libtorch's native convolution backward.
pub fn padded_conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>, padding: Padding) -> Tensor<4> {
    #[cfg(feature = "tch")]
    if super::on_libtorch(&x) {
        return libtorch::padded_conv2d(x, weight, bias, padding);
    }
    let [left, right, top, bottom] = padding;
    let x = if padding == [0; 4] { x } else { x.pad((left, right, top, bottom), PadMode::Constant(0.0)) };
    conv2d(x, weight, Some(bias), ConvOptions::new([1, 1], [0, 0], [1, 1], 1))
}

/// The kernel and bias of one of the models' unpadded convolutions (the 1x1 ones, the gated
/// PixelCNN's stacks), as [`causal_conv2d`] and [`padded_conv2d`] take them.
///
/// # Panics
/// If `conv` is not a stride-1, unpadded convolution with a bias: the models' initialisers build
/// no other ([`crate::init::conv`]).
pub(crate) fn conv_params(conv: &Conv2d) -> ConvParams {
    let plain = conv.stride == [1, 1]
        && conv.dilation == [1, 1]
        && conv.groups == 1
        && matches!(conv.padding, PaddingConfig2d::Valid);
    match &conv.bias {
        Some(bias) if plain => (conv.weight.val(), bias.val()),
        _ => panic!("the models' plain convolutions are stride 1, unpadded and biased, got {conv:?}"),
    }
}

/// The kernel and bias of one of the models' 1x1 convolutions, as [`causal_conv2d`] takes them.
///
/// # Panics
/// If `conv` is not a stride-1, unpadded 1x1 convolution with a bias: the models' initialisers
/// build no other ([`crate::init::conv1x1`]).
pub(crate) fn conv1x1_params(conv: &Conv2d) -> ConvParams {
    assert_eq!(conv.kernel_size, [1, 1], "not a 1x1 convolution: {conv:?}");
    conv_params(conv)
}

/// `conv.forward(x)` for the models' 1x1 convolutions (`[B, in, H, W]` -> `[B, out, H, W]`),
/// through [`causal_conv2d`] (a 1x1 kernel has no rows below its centre).
pub(crate) fn conv1x1_forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let (weight, bias) = conv1x1_params(conv);
    causal_conv2d(x, weight, bias)
}

#[cfg(feature = "tch")]
#[allow(deprecated)] // burn 0.22 marks its libtorch backend deprecated; it is our main backend
pub(crate) mod libtorch {
    //! The convolution as a backend extension: libtorch's kernels forward, and under autodiff
    //! libtorch's `ConvolutionBackward0`.

    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::libtorch::TchTensor;
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Autodiff, Backend, Dispatch, LibTorch, backend_extension};
    use burn::tensor::Tensor;

    use crate::native::autograd::native;
    use crate::native::layout::channels_last;

    use super::Padding;

    /// The convolutions, whose libtorch backward burn-tch lacks.
    #[backend_extension(Autodiff, LibTorch)]
    pub trait ConvOps: Backend {
        /// [`super::causal_conv2d`].
        fn native_causal_conv2d(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
        ) -> FloatTensor<Self>;

        /// [`super::padded_conv2d`].
        fn native_padded_conv2d(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            padding: Padding,
        ) -> FloatTensor<Self>;
    }

    /// Without autodiff (evaluation, sampling): the same computation as in training, so logits do
    /// not depend on whether gradients are tracked.
    impl ConvOps for LibTorch {
        fn native_causal_conv2d(x: TchTensor, weight: TchTensor, bias: TchTensor) -> TchTensor {
            TchTensor::new(convolve(&x.tensor, &weight.tensor, &bias.tensor))
        }

        fn native_padded_conv2d(
            x: TchTensor,
            weight: TchTensor,
            bias: TchTensor,
            padding: Padding,
        ) -> TchTensor {
            TchTensor::new(convolve_padded(&x.tensor, &weight.tensor, &bias.tensor, padding))
        }
    }

    impl<C: CheckpointStrategy> ConvOps for Autodiff<LibTorch, C> {
        fn native_causal_conv2d(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            native::<C, 3>([x, weight, bias], |[x, weight, bias]| convolve(x, weight, bias))
        }

        fn native_padded_conv2d(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            padding: Padding,
        ) -> FloatTensor<Self> {
            native::<C, 3>([x, weight, bias], |[x, weight, bias]| convolve_padded(x, weight, bias, padding))
        }
    }

    /// The causal convolution on libtorch tensors, tracked by libtorch's autograd when its inputs
    /// are: for a `k > 1` kernel only its top `k / 2 + 1` rows, over the input padded by `k / 2`
    /// zeros above and on the sides and none below ([`convolve_padded`]). Output `[B, out, H, W]`,
    /// channels-last. Fused steps of the families call it on their own graphs.
    pub(crate) fn convolve(x: &tch::Tensor, weight: &tch::Tensor, bias: &tch::Tensor) -> tch::Tensor {
        let rows = weight.size()[2] / 2 + 1;
        let p = usize::try_from(rows - 1).expect("kernel sizes are positive");
        if p == 0 {
            convolve_padded(x, weight, bias, [0; 4])
        } else {
            convolve_padded(x, &weight.narrow(2, 0, rows), bias, [p, p, p, 0])
        }
    }

    /// [`super::padded_conv2d`] on libtorch tensors, channels-last in and out, tracked by
    /// libtorch's autograd when its inputs are.
    pub(crate) fn convolve_padded(
        x: &tch::Tensor,
        weight: &tch::Tensor,
        bias: &tch::Tensor,
        padding: Padding,
    ) -> tch::Tensor {
        let x = channels_last(x);
        let output = if padding == [0; 4] {
            x.conv2d(weight, Some(bias), [1, 1], [0, 0], [1, 1], 1)
        } else {
            let pad = padding.map(|p| i64::try_from(p).expect("padding fits i64"));
            x.constant_pad_nd(pad).conv2d(weight, Some(bias), [1, 1], [0, 0], [1, 1], 1)
        };
        channels_last(&output)
    }

    /// The extension's causal convolution; `x` must be on libtorch ([`crate::native::on_libtorch`]).
    pub(super) fn causal_conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>) -> Tensor<4> {
        let output = <Dispatch as ConvOps>::native_causal_conv2d(
            x.into_dispatch(),
            weight.into_dispatch(),
            bias.into_dispatch(),
        );
        Tensor::from_dispatch(output)
    }

    /// The extension's padded convolution; `x` must be on libtorch ([`crate::native::on_libtorch`]).
    pub(super) fn padded_conv2d(
        x: Tensor<4>,
        weight: Tensor<4>,
        bias: Tensor<1>,
        padding: Padding,
    ) -> Tensor<4> {
        let output = <Dispatch as ConvOps>::native_padded_conv2d(
            x.into_dispatch(),
            weight.into_dispatch(),
            bias.into_dispatch(),
            padding,
        );
        Tensor::from_dispatch(output)
    }
}
