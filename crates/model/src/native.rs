//! The model's convolutions, residual blocks, ReLUs and training loss, with libtorch's own backward
//! kernels on the libtorch backend.
//!
//! burn-tch 0.22 differentiates a convolution through burn's generic formulas: the weight gradient
//! as a convolution of the batch-swapped input with the batch-swapped output gradient (after
//! copying both), 2-2.5x what libtorch's `ConvolutionBackward0` (oneDNN) needs, and the ReLU
//! backward as a `<= 0` comparison plus a scalar `masked_fill`, where libtorch has one fused
//! `threshold_backward`. Together that was about a third of a training step (`bench/profile.md`).
//!
//! With the `tch` feature, [`causal_conv2d`], [`residual_blocks`], [`relu`] and the training loss
//! route libtorch tensors (plain or autodiff) through a burn backend extension whose autodiff
//! implementation records its own backward step: a convolution, all the residual blocks together
//! or the loss runs under libtorch's autograd on leaf aliases of its inputs, and its backward asks
//! libtorch for exactly the gradients burn's graph needs (`ConvolutionBackward0`, libtorch's
//! fused ReLU and cross-entropy backward); the lone ReLU's backward is `threshold_backward`. Each
//! such step costs one extra pass over its output in the backward (tch cannot hand libtorch an
//! output gradient, so the step differentiates `<output, grad>`), hence all blocks in one step
//! rather than one step per convolution. Two more savings that dense peers cannot make or do not make by default:
//!
//! - the kernel rows below the centre, zero in every causal mask, are not computed: the 3x3 mask-B
//!   convolution runs as a 2x3 one over an input padded above and on the sides only (6 of 9 taps);
//! - activations are kept channels-last (NHWC strides), the layout oneDNN's kernels prefer; libtorch
//!   carries it through ReLUs and additions, so only the first convolution's output is converted.
//!
//! Values agree with burn's ops within float rounding (the sums run in another order). Every other
//! backend (flex), and builds without the feature, take burn's own ops, unchanged.

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, activation};

/// The model's convolutions: stride 1, an odd square kernel, 'same' padding (`k / 2` zeros on
/// every side): `x` `[B, in, H, W]`, `weight` `[out, in, k, k]`, `bias` `[out]` -> `[B, out, H, W]`.
///
/// The kernel's rows below its centre must be zero, as they are under masks A and B and in any
/// 1x1 kernel: libtorch skips them. Equal in value (within float rounding) to
/// `conv2d(x, weight, Some(bias), ConvOptions::new([1, 1], [k / 2; 2], [1, 1], 1))`, which is what
/// other backends compute; on libtorch its backward is libtorch's native convolution backward.
pub fn causal_conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>) -> Tensor<4> {
    #[cfg(feature = "tch")]
    if libtorch::on_libtorch(&x) {
        return libtorch::causal_conv2d(x, weight, bias);
    }
    let [_, _, k, _] = weight.dims();
    conv2d(x, weight, Some(bias), ConvOptions::new([1, 1], [k / 2, k / 2], [1, 1], 1))
}

/// `max(x, 0)`, burn's [`activation::relu`] in value; on libtorch its backward is libtorch's
/// `threshold_backward` (zero gradient where the input is `<= 0`, as burn's).
pub fn relu(x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "tch")]
    if libtorch::on_libtorch(&x) {
        return libtorch::relu(x);
    }
    activation::relu(x)
}

/// A kernel `[out, in, k, k]` and its bias `[out]`, as [`causal_conv2d`] takes them.
pub type ConvParams = (Tensor<4>, Tensor<1>);

/// Residual blocks one after another, `blocks[i]` holding block i's three convolutions: each block
/// is `relu` then [`causal_conv2d`] with each of its convolutions in turn, plus its input
/// (`[B, C, H, W]` in and out).
///
/// On libtorch with autodiff the whole stack is one step of burn's graph, differentiated by
/// libtorch: the blocks' kernels and biases go in packed into one flat tensor (a copy of under a
/// million numbers per step), so the backward starts from one output gradient for all blocks
/// instead of one per convolution. All blocks must have the same shapes there, as the model's do.
pub fn residual_blocks(input: Tensor<4>, blocks: Vec<[ConvParams; 3]>) -> Tensor<4> {
    #[cfg(feature = "tch")]
    if libtorch::on_libtorch(&input) && !blocks.is_empty() {
        return libtorch::residual_blocks(input, blocks);
    }
    blocks.into_iter().fold(input, |input, convs| {
        let x =
            convs.into_iter().fold(input.clone(), |x, (weight, bias)| causal_conv2d(relu(x), weight, bias));
        x + input
    })
}

/// The seed's training loss on libtorch ([`crate::nll_per_pixel`] on any tensor): libtorch's fused
/// cross-entropy, whose backward is one kernel where burn's log-softmax and gather take several.
#[cfg(feature = "tch")]
pub(crate) use libtorch::{mean_nll, on_libtorch};

#[cfg(feature = "tch")]
#[allow(deprecated)] // burn 0.22 marks its libtorch backend deprecated; it is our main backend
mod libtorch {
    //! The backend extension: its concrete libtorch implementation (inference) and its autodiff
    //! implementation with the hand-written backward steps.

    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::libtorch::TchTensor;
    use burn::backend::ops::ActivationOps;
    use burn::backend::tensor::{FloatTensor, IntTensor};
    use burn::backend::{Autodiff, Backend, Dispatch, DispatchDevice, LibTorch, backend_extension};
    use burn::tensor::{Int, Tensor};

    use super::ConvParams;

    /// The operations whose libtorch backward burn-tch lacks or splits into many kernels.
    #[backend_extension(Autodiff, LibTorch)]
    pub trait NativeOps: Backend {
        /// [`super::causal_conv2d`].
        fn native_causal_conv2d(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
        ) -> FloatTensor<Self>;
        /// [`super::residual_blocks`], the kernels and biases packed in `params` (see [`blocks`]).
        fn native_residual_blocks(
            x: FloatTensor<Self>,
            params: FloatTensor<Self>,
            shapes: BlockShapes,
        ) -> FloatTensor<Self>;
        /// `max(x, 0)`.
        fn native_relu(x: FloatTensor<Self>) -> FloatTensor<Self>;
        /// [`super::mean_nll`].
        fn native_mean_nll(logits: FloatTensor<Self>, targets: IntTensor<Self>) -> FloatTensor<Self>;
    }

    /// Without autodiff (evaluation, sampling): the same computation as in training, so logits do
    /// not depend on whether gradients are tracked; burn-tch's own ReLU.
    impl NativeOps for LibTorch {
        fn native_causal_conv2d(x: TchTensor, weight: TchTensor, bias: TchTensor) -> TchTensor {
            TchTensor::new(convolve(&x.tensor, &weight.tensor, &bias.tensor))
        }

        fn native_residual_blocks(x: TchTensor, params: TchTensor, shapes: BlockShapes) -> TchTensor {
            TchTensor::new(blocks(&x.tensor, &params.tensor, shapes))
        }

        fn native_relu(x: TchTensor) -> TchTensor {
            LibTorch::relu(x)
        }

        fn native_mean_nll(logits: TchTensor, targets: TchTensor) -> TchTensor {
            TchTensor::new(cross_entropy(&logits.tensor, &targets.tensor))
        }
    }

    /// Mean cross-entropy `[1]` of `logits` `[B, q, H, W]` against the levels `targets`
    /// `[B, H, W]`: libtorch's fused log-softmax and NLL, and their fused backward.
    fn cross_entropy(logits: &tch::Tensor, targets: &tch::Tensor) -> tch::Tensor {
        logits.cross_entropy_loss::<tch::Tensor>(targets, None, tch::Reduction::Mean, -100, 0.0).reshape([1])
    }

    /// The convolution on libtorch tensors, tracked by libtorch's autograd when its inputs are:
    /// channels-last, and for a `k > 1` kernel only its top `k / 2 + 1` rows, over the input padded
    /// by `k / 2` zeros above and on the sides and none below. Output `[B, out, H, W]`,
    /// channels-last.
    fn convolve(x: &tch::Tensor, weight: &tch::Tensor, bias: &tch::Tensor) -> tch::Tensor {
        let p = weight.size()[2] / 2;
        let x = channels_last(x);
        let output = if p == 0 {
            x.conv2d(weight, Some(bias), [1, 1], [0, 0], [1, 1], 1)
        } else {
            let rows = weight.narrow(2, 0, p + 1);
            x.constant_pad_nd([p, p, p, 0]).conv2d(&rows, Some(bias), [1, 1], [0, 0], [1, 1], 1)
        };
        channels_last(&output)
    }

    /// The kernel shapes `[out, in, k, k]` of each block's three convolutions (each has a bias of
    /// `out` numbers).
    pub type BlockShapes = [[usize; 4]; 3];

    /// [`super::residual_blocks`] on libtorch tensors: `params` holds, block after block, each
    /// convolution's kernel (flattened) and then its bias, with the shapes `shapes`.
    fn blocks(x: &tch::Tensor, params: &tch::Tensor, shapes: BlockShapes) -> tch::Tensor {
        let shapes = shapes.map(|shape| shape.map(|n| i64::try_from(n).expect("shape fits i64")));
        let per_block: i64 = shapes.iter().map(|s| s.iter().product::<i64>() + s[0]).sum();
        let count = params.size()[0] / per_block;
        let mut offset = 0;
        let mut take = |len: i64| {
            offset += len;
            params.narrow(0, offset - len, len)
        };
        (0..count).fold(x.shallow_clone(), |input, _| {
            let mut y = shapes.iter().fold(input.shallow_clone(), |y, shape| {
                let weight = take(shape.iter().product()).view(*shape);
                convolve(&y.relu(), &weight, &take(shape[0]))
            });
            // In place: the convolution's backward does not need its output.
            let _ = y.g_add_(&input);
            y
        })
    }

    /// `t` flattened, a `[B, C, H, W]` tensor in NHWC order: a view when `t` is channels-last.
    fn flat(t: &tch::Tensor) -> tch::Tensor {
        if t.dim() == 4 { t.permute([0, 2, 3, 1]).reshape([-1]) } else { t.reshape([-1]) }
    }

    /// `t` `[B, C, H, W]` in channels-last strides: `t` itself when it already is (or has a single
    /// channel, where both layouts are the same memory), else a copy.
    fn channels_last(t: &tch::Tensor) -> tch::Tensor {
        if t.size()[1] == 1 || t.stride()[1] == 1 {
            t.shallow_clone()
        } else {
            t.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
        }
    }

    /// The libtorch autograd graph of one operation on `N` input tensors, kept from its forward to
    /// its backward.
    ///
    /// The leaves alias the inputs (same storage, `requires_grad`); `output` is the result with
    /// its `grad_fn`, whose detached alias burn received. `inputs` are burn's own handles of the
    /// inputs: holding them raises their storage count, so burn-tch never overwrites them in place
    /// while libtorch's graph still needs them (burn's own ops do the same by checkpointing).
    #[derive(Debug)]
    struct NativeGraph<const N: usize> {
        inputs: [TchTensor; N],
        leaves: [tch::Tensor; N],
        output: tch::Tensor,
    }

    impl<const N: usize> Clone for NativeGraph<N> {
        fn clone(&self) -> Self {
            Self {
                inputs: self.inputs.clone(),
                leaves: self.leaves.each_ref().map(tch::Tensor::shallow_clone),
                output: self.output.shallow_clone(),
            }
        }
    }

    /// Backward step of an operation computed under libtorch's autograd: libtorch's own backward
    /// of everything in it (`ConvolutionBackward0`, `ReluBackward0`, the pads and layout changes).
    #[derive(Debug)]
    struct NativeBackward<const N: usize>;

    impl<const N: usize> Backward<LibTorch, N> for NativeBackward<N> {
        type State = NativeGraph<N>;

        fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
            let grad = grads.consume::<LibTorch>(&ops.node);
            let graph = ops.state;
            // Only the gradients burn's graph asks for: libtorch then skips the others (the input
            // convolution's dx, for one).
            let wanted: Vec<usize> = (0..N).filter(|&i| ops.parents[i].is_some()).collect();
            let leaves: Vec<&tch::Tensor> = wanted.iter().map(|&i| &graph.leaves[i]).collect();
            // The graph's root: <output, grad>, whose gradient with respect to `output` is `grad`
            // exactly (times 1.0), so libtorch's backward receives burn's output gradient.
            // tch's `run_backward` takes no output gradient; a dot product is the cheapest stand-in
            // (one read of both, one scaled copy of `grad` in its backward).
            let root = flat(&graph.output).dot(&flat(&grad.tensor));
            let computed = tch::Tensor::run_backward(&[root], &leaves, false, false);
            for (&i, gradient) in wanted.iter().zip(computed) {
                if let Some(node) = &ops.parents[i] {
                    // Parameters' gradients in the parameters' own (contiguous) layout, so that
                    // the optimizer's updates keep them contiguous.
                    let gradient = if i == 0 { gradient } else { gradient.contiguous() };
                    grads.register::<LibTorch>(node.id, TchTensor::new(gradient));
                }
            }
        }
    }

    /// Runs `op` on `inputs` (input first, then parameters), under libtorch's autograd when burn
    /// tracks any of them.
    fn native<C: CheckpointStrategy, const N: usize>(
        inputs: [FloatTensor<Autodiff<LibTorch, C>>; N],
        op: impl Fn(&[tch::Tensor; N]) -> tch::Tensor,
    ) -> FloatTensor<Autodiff<LibTorch, C>> {
        match NativeBackward::<N>.prepare::<C>(inputs.each_ref().map(|t| t.node())).compute_bound().stateful()
        {
            OpsKind::Tracked(prep) => {
                let inputs = inputs.map(|t| t.primitive().clone());
                let leaves = inputs.each_ref().map(|t| t.tensor.detach().set_requires_grad(true));
                let output = op(&leaves);
                let result = TchTensor::new(output.detach());
                prep.finish(NativeGraph { inputs, leaves, output }, result)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(TchTensor::new(op(&inputs.map(|t| t.into_primitive().tensor))))
            }
        }
    }

    /// Backward step of [`NativeOps::native_relu`]: libtorch's `threshold_backward` on the input.
    #[derive(Debug)]
    struct NativeReluBackward;

    impl Backward<LibTorch, 1> for NativeReluBackward {
        type State = TchTensor;

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
            let grad = grads.consume::<LibTorch>(&ops.node);
            let [parent] = ops.parents;
            if let Some(node) = parent {
                let input = ops.state;
                // tch's receiver is the forward input (`self`); the argument is the gradient.
                grads.register::<LibTorch>(
                    node.id,
                    TchTensor::new(input.tensor.threshold_backward(&grad.tensor, 0.0)),
                );
            }
        }
    }

    impl<C: CheckpointStrategy> NativeOps for Autodiff<LibTorch, C> {
        fn native_causal_conv2d(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            native::<C, 3>([x, weight, bias], |[x, weight, bias]| convolve(x, weight, bias))
        }

        fn native_residual_blocks(
            x: FloatTensor<Self>,
            params: FloatTensor<Self>,
            shapes: BlockShapes,
        ) -> FloatTensor<Self> {
            native::<C, 2>([x, params], |[x, params]| blocks(x, params, shapes))
        }

        fn native_mean_nll(logits: FloatTensor<Self>, targets: IntTensor<Self>) -> FloatTensor<Self> {
            native::<C, 1>([logits], |[logits]| cross_entropy(logits, &targets.tensor))
        }

        fn native_relu(x: FloatTensor<Self>) -> FloatTensor<Self> {
            match NativeReluBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
                OpsKind::Tracked(prep) => {
                    let input = x.primitive().clone();
                    // Out of place: the input is the backward's state.
                    let output = TchTensor::new(input.tensor.relu());
                    prep.finish(input, output)
                }
                OpsKind::UnTracked(prep) => prep.finish(LibTorch::relu(x.into_primitive())),
            }
        }
    }

    /// Whether a tensor lives on libtorch, with or without autodiff.
    pub(crate) fn on_libtorch(tensor: &Tensor<4>) -> bool {
        match tensor.device().as_dispatch() {
            DispatchDevice::LibTorch(_) => true,
            DispatchDevice::Autodiff(inner) => matches!(**inner, DispatchDevice::LibTorch(_)),
            #[allow(unreachable_patterns)] // libtorch may be the only backend compiled in
            _ => false,
        }
    }

    /// The extension's convolution; `x` must be on libtorch ([`on_libtorch`]).
    pub(super) fn causal_conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>) -> Tensor<4> {
        let output = <Dispatch as NativeOps>::native_causal_conv2d(
            x.into_dispatch(),
            weight.into_dispatch(),
            bias.into_dispatch(),
        );
        Tensor::from_dispatch(output)
    }

    /// The extension's residual blocks; `x` must be on libtorch ([`on_libtorch`]) and `blocks`
    /// not empty.
    ///
    /// # Panics
    /// If the blocks' shapes differ.
    pub(super) fn residual_blocks(x: Tensor<4>, blocks: Vec<[ConvParams; 3]>) -> Tensor<4> {
        let shapes: BlockShapes = blocks[0].each_ref().map(|(weight, _)| weight.dims());
        let mut packed = Vec::with_capacity(6 * blocks.len());
        for convs in blocks {
            assert_eq!(
                convs.each_ref().map(|(weight, _)| weight.dims()),
                shapes,
                "residual blocks differ in shape"
            );
            for (weight, bias) in convs {
                packed.extend([weight.flatten::<1>(0, 3), bias]);
            }
        }
        Tensor::from_dispatch(<Dispatch as NativeOps>::native_residual_blocks(
            x.into_dispatch(),
            Tensor::cat(packed, 0).into_dispatch(),
            shapes,
        ))
    }

    /// The extension's loss; `logits` must be on libtorch ([`on_libtorch`]).
    pub(crate) fn mean_nll(logits: Tensor<4>, targets: Tensor<3, Int>) -> Tensor<1> {
        Tensor::from_dispatch(<Dispatch as NativeOps>::native_mean_nll(
            logits.into_dispatch(),
            targets.into_dispatch(),
        ))
    }

    /// The extension's ReLU; `x` must be on libtorch ([`on_libtorch`]).
    pub(super) fn relu(x: Tensor<4>) -> Tensor<4> {
        Tensor::from_dispatch(<Dispatch as NativeOps>::native_relu(x.into_dispatch()))
    }
}
