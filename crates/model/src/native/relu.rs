//! The models' ReLU, whose backward on libtorch is libtorch's fused `threshold_backward`.

use burn::tensor::{Tensor, activation};

/// `max(x, 0)`, burn's [`activation::relu`] in value; on libtorch its backward is libtorch's
/// `threshold_backward` (zero gradient where the input is `<= 0`, as burn's). Any shape
/// `[B, C, H, W]`, kept.
pub fn relu(x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "tch")]
    if super::on_libtorch(&x) {
        return libtorch::relu(x);
    }
    activation::relu(x)
}

#[cfg(feature = "tch")]
#[allow(deprecated)] // burn 0.22 marks its libtorch backend deprecated; it is our main backend
mod libtorch {
    //! The ReLU as a backend extension with a one-kernel backward.

    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::libtorch::TchTensor;
    use burn::backend::ops::ActivationOps;
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Autodiff, Backend, Dispatch, LibTorch, backend_extension};
    use burn::tensor::Tensor;

    /// The ReLU, whose backward burn-tch splits into a comparison and a `masked_fill`.
    #[backend_extension(Autodiff, LibTorch)]
    pub trait ReluOps: Backend {
        /// `max(x, 0)`.
        fn native_relu(x: FloatTensor<Self>) -> FloatTensor<Self>;
    }

    /// Without autodiff: burn-tch's own ReLU.
    impl ReluOps for LibTorch {
        fn native_relu(x: TchTensor) -> TchTensor {
            LibTorch::relu(x)
        }
    }

    /// Backward step of [`ReluOps::native_relu`]: libtorch's `threshold_backward` on the input.
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

    impl<C: CheckpointStrategy> ReluOps for Autodiff<LibTorch, C> {
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

    /// The extension's ReLU; `x` must be on libtorch ([`crate::native::on_libtorch`]).
    pub(super) fn relu(x: Tensor<4>) -> Tensor<4> {
        Tensor::from_dispatch(<Dispatch as ReluOps>::native_relu(x.into_dispatch()))
    }
}
