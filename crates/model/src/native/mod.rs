//! The models' convolutions, ReLUs and training loss, with libtorch's own backward kernels on the
//! libtorch backend.
//!
//! burn-tch 0.22 differentiates a convolution through burn's generic formulas: the weight gradient
//! as a convolution of the batch-swapped input with the batch-swapped output gradient (after
//! copying both), 2-2.5x what libtorch's `ConvolutionBackward0` (oneDNN) needs, and the ReLU
//! backward as a `<= 0` comparison plus a scalar `masked_fill`, where libtorch has one fused
//! `threshold_backward`. Together that was about a third of a training step (`bench/profile.md`).
//!
//! With the `tch` feature, [`causal_conv2d`], [`padded_conv2d`], [`relu`], the training loss and a
//! family's fused steps (the PixelCNN's residual stack, `crate::pixelcnn`'s `native.rs`) route libtorch tensors
//! (plain or autodiff) through burn backend extensions whose autodiff implementations record their
//! own backward step: a convolution, a family's fused step or the loss runs under libtorch's
//! autograd on leaf aliases of its inputs, and its backward asks libtorch for exactly the gradients
//! burn's graph needs (`ConvolutionBackward0`, libtorch's fused ReLU and cross-entropy backward);
//! the lone ReLU's backward is `threshold_backward`. Each such step costs one extra pass over its
//! output in the backward (tch cannot hand libtorch an output gradient, so the step differentiates
//! `<output, grad>`), hence whole stacks of blocks in one step rather than one step per
//! convolution. Two more savings that dense peers cannot make or do not make by default:
//!
//! - the kernel rows below the centre, zero in every causal mask, are not computed: the 3x3 mask-B
//!   convolution runs as a 2x3 one over an input padded above and on the sides only (6 of 9 taps);
//! - activations are kept channels-last (NHWC strides), the layout oneDNN's kernels prefer; libtorch
//!   carries it through ReLUs and additions, so only the first convolution's output is converted.
//!
//! One file per job: `conv.rs` (the causal convolution), `relu.rs`, `cross_entropy.rs` (the fused
//! loss), `autograd.rs` (a libtorch graph as one step of burn's, shared by every fused step) and
//! `layout.rs` (channels-last strides). Values agree with burn's ops within float rounding (the
//! sums run in another order). Every other backend (flex), and builds without the feature, take
//! burn's own ops, unchanged.

#[cfg(feature = "tch")]
#[allow(deprecated)] // burn 0.22 marks its libtorch backend deprecated; it is our main backend
pub(crate) mod autograd;
mod conv;
#[cfg(feature = "tch")]
#[allow(deprecated)] // as above
mod cross_entropy;
#[cfg(feature = "tch")]
mod layout;
mod relu;

#[cfg(feature = "tch")]
pub(crate) use conv::libtorch::{convolve, convolve_padded};
pub use conv::{ConvParams, Padding, causal_conv2d, padded_conv2d};
pub(crate) use conv::{conv_params, conv1x1_forward, conv1x1_params};
/// The seed's training loss on libtorch ([`crate::nll_per_pixel`] on any tensor).
#[cfg(feature = "tch")]
pub(crate) use cross_entropy::mean_nll;
pub use relu::relu;

/// Whether a tensor lives on libtorch, with or without autodiff: the tensors the native ops take.
#[cfg(feature = "tch")]
pub(crate) fn on_libtorch(tensor: &burn::tensor::Tensor<4>) -> bool {
    use burn::backend::DispatchDevice;
    match tensor.device().as_dispatch() {
        DispatchDevice::LibTorch(_) => true,
        DispatchDevice::Autodiff(inner) => matches!(**inner, DispatchDevice::LibTorch(_)),
        #[allow(unreachable_patterns)] // libtorch may be the only backend compiled in
        _ => false,
    }
}
