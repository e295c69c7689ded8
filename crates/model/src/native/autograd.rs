//! A computation on libtorch tensors recorded as one step of burn's autodiff graph and
//! differentiated by libtorch's autograd: what every native op with a multi-kernel backward (the
//! convolution, the loss, a family's fused step) is built on.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::libtorch::TchTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, LibTorch};

use super::layout::flat;

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
pub(crate) fn native<C: CheckpointStrategy, const N: usize>(
    inputs: [FloatTensor<Autodiff<LibTorch, C>>; N],
    op: impl Fn(&[tch::Tensor; N]) -> tch::Tensor,
) -> FloatTensor<Autodiff<LibTorch, C>> {
    match NativeBackward::<N>.prepare::<C>(inputs.each_ref().map(|t| t.node())).compute_bound().stateful() {
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
