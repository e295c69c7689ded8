//! The model's convolutions and ReLUs, with libtorch's own backward kernels on the libtorch
//! backend.
//!
//! burn-tch 0.22 differentiates a convolution through burn's generic formulas: the weight gradient
//! as a convolution of the batch-swapped input with the batch-swapped output gradient (after
//! copying both), 2-2.5x what libtorch's `ConvolutionBackward0` (oneDNN) needs, and the ReLU
//! backward as a `<= 0` comparison plus a scalar `masked_fill`, where libtorch has one fused
//! `threshold_backward`. Together that was about a third of a training step (`bench/profile.md`).
//!
//! With the `tch` feature, [`conv2d_same`] and [`relu`] route libtorch tensors (plain or
//! autodiff) through a burn backend extension whose autodiff implementation records its own
//! backward step: the convolution's forward runs under libtorch's autograd on leaf aliases of its
//! inputs, and its backward asks libtorch for exactly the gradients burn's graph needs; the ReLU's
//! backward is `threshold_backward`. The forward values are the very libtorch calls burn-tch makes,
//! so logits do not change; gradients agree with burn's within float rounding. Every other backend
//! (flex), and builds without the feature, take burn's own ops, unchanged.

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, activation};

/// A stride-1 convolution with `padding` zeros on every side (the model's 'same' convolutions for
/// odd kernels, `padding = k / 2`): `x` `[B, in, H, W]`, `weight` `[out, in, k, k]`, `bias` `[out]`.
///
/// Equal to `conv2d(x, weight, Some(bias), ConvOptions::new([1, 1], [padding; 2], [1, 1], 1))`
/// in value; on libtorch its backward is libtorch's native convolution backward.
pub fn conv2d_same(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>, padding: usize) -> Tensor<4> {
    #[cfg(feature = "tch")]
    if libtorch::on_libtorch(&x) {
        return libtorch::conv2d_same(x, weight, bias, padding);
    }
    conv2d(x, weight, Some(bias), ConvOptions::new([1, 1], [padding, padding], [1, 1], 1))
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
    use burn::backend::ops::{ActivationOps, ModuleOps};
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Autodiff, Backend, Dispatch, DispatchDevice, LibTorch, backend_extension};
    use burn::tensor::Tensor;
    use burn::tensor::ops::ConvOptions;

    /// The two operations whose libtorch backward burn-tch lacks.
    #[backend_extension(Autodiff, LibTorch)]
    pub trait NativeOps: Backend {
        /// Stride-1 convolution with a bias and `padding` zeros on every side.
        fn native_conv2d(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            padding: usize,
        ) -> FloatTensor<Self>;
        /// `max(x, 0)`.
        fn native_relu(x: FloatTensor<Self>) -> FloatTensor<Self>;
    }

    /// Without autodiff (evaluation, sampling) both are burn-tch's own calls.
    impl NativeOps for LibTorch {
        fn native_conv2d(x: TchTensor, weight: TchTensor, bias: TchTensor, padding: usize) -> TchTensor {
            LibTorch::conv2d(x, weight, Some(bias), options(padding))
        }

        fn native_relu(x: TchTensor) -> TchTensor {
            LibTorch::relu(x)
        }
    }

    fn options(padding: usize) -> ConvOptions<2> {
        ConvOptions::new([1, 1], [padding, padding], [1, 1], 1)
    }

    /// The libtorch autograd graph of one convolution, kept from its forward to its backward.
    ///
    /// The leaves alias the input, weight and bias (same storage, `requires_grad`); `output` is the
    /// convolution's result with its `grad_fn`, whose detached alias burn received. `x` and
    /// `weight` are burn's own handles of the saved inputs: holding them raises their storage
    /// count, so burn-tch never overwrites them in place while the graph needs them (as burn's own
    /// convolution does by checkpointing them).
    #[derive(Debug)]
    struct ConvGraph {
        x: TchTensor,
        weight: TchTensor,
        leaves: [tch::Tensor; 3],
        output: tch::Tensor,
    }

    impl Clone for ConvGraph {
        fn clone(&self) -> Self {
            Self {
                x: self.x.clone(),
                weight: self.weight.clone(),
                leaves: self.leaves.each_ref().map(tch::Tensor::shallow_clone),
                output: self.output.shallow_clone(),
            }
        }
    }

    /// Backward step of [`NativeOps::native_conv2d`]: libtorch's `ConvolutionBackward0`.
    #[derive(Debug)]
    struct NativeConvBackward;

    impl Backward<LibTorch, 3> for NativeConvBackward {
        type State = ConvGraph;

        fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
            let grad = grads.consume::<LibTorch>(&ops.node);
            let graph = ops.state;
            // Only the gradients burn's graph asks for: libtorch then skips the others (the input
            // convolution's dx, for one).
            let wanted: Vec<usize> = (0..3).filter(|&i| ops.parents[i].is_some()).collect();
            let inputs: Vec<&tch::Tensor> = wanted.iter().map(|&i| &graph.leaves[i]).collect();
            // The graph's root: <output, grad>, whose gradient with respect to `output` is `grad`
            // exactly (times 1.0), so the convolution's backward receives burn's output gradient.
            let root = graph.output.reshape([-1]).dot(&grad.tensor.reshape([-1]));
            let computed = tch::Tensor::run_backward(&[root], &inputs, false, false);
            for (&i, gradient) in wanted.iter().zip(computed) {
                if let Some(node) = &ops.parents[i] {
                    grads.register::<LibTorch>(node.id, TchTensor::new(gradient));
                }
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
        fn native_conv2d(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            padding: usize,
        ) -> FloatTensor<Self> {
            match NativeConvBackward
                .prepare::<C>([x.node(), weight.node(), bias.node()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let (x, weight, bias) =
                        (x.primitive().clone(), weight.primitive().clone(), bias.primitive());
                    let leaves =
                        [&x.tensor, &weight.tensor, &bias.tensor].map(|t| t.detach().set_requires_grad(true));
                    let p = i64::try_from(padding).expect("padding fits i64");
                    let output = leaves[0].conv2d(&leaves[1], Some(&leaves[2]), [1, 1], [p, p], [1, 1], 1);
                    let result = TchTensor::new(output.detach());
                    prep.finish(ConvGraph { x, weight, leaves, output }, result)
                }
                OpsKind::UnTracked(prep) => prep.finish(LibTorch::conv2d(
                    x.into_primitive(),
                    weight.into_primitive(),
                    Some(bias.into_primitive()),
                    options(padding),
                )),
            }
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
    pub(super) fn on_libtorch(tensor: &Tensor<4>) -> bool {
        match tensor.device().as_dispatch() {
            DispatchDevice::LibTorch(_) => true,
            DispatchDevice::Autodiff(inner) => matches!(**inner, DispatchDevice::LibTorch(_)),
            #[allow(unreachable_patterns)] // libtorch may be the only backend compiled in
            _ => false,
        }
    }

    /// The extension's convolution; `x` must be on libtorch ([`on_libtorch`]).
    pub(super) fn conv2d_same(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>, padding: usize) -> Tensor<4> {
        let output = <Dispatch as NativeOps>::native_conv2d(
            x.into_dispatch(),
            weight.into_dispatch(),
            bias.into_dispatch(),
            padding,
        );
        Tensor::from_dispatch(output)
    }

    /// The extension's ReLU; `x` must be on libtorch ([`on_libtorch`]).
    pub(super) fn relu(x: Tensor<4>) -> Tensor<4> {
        Tensor::from_dispatch(<Dispatch as NativeOps>::native_relu(x.into_dispatch()))
    }
}
