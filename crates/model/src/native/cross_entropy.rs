//! The seed's training loss on libtorch: libtorch's fused cross-entropy, whose backward is one
//! kernel where burn's log-softmax and gather take several.

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::libtorch::TchTensor;
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Autodiff, Backend, Dispatch, LibTorch, backend_extension};
use burn::tensor::{Int, Tensor};

use super::autograd::native;

/// The loss, whose backward burn-tch splits into many kernels.
#[backend_extension(Autodiff, LibTorch)]
pub trait CrossEntropyOps: Backend {
    /// [`mean_nll`].
    fn native_mean_nll(logits: FloatTensor<Self>, targets: IntTensor<Self>) -> FloatTensor<Self>;
}

/// Without autodiff: the same computation as in training.
impl CrossEntropyOps for LibTorch {
    fn native_mean_nll(logits: TchTensor, targets: TchTensor) -> TchTensor {
        TchTensor::new(cross_entropy(&logits.tensor, &targets.tensor))
    }
}

impl<C: CheckpointStrategy> CrossEntropyOps for Autodiff<LibTorch, C> {
    fn native_mean_nll(logits: FloatTensor<Self>, targets: IntTensor<Self>) -> FloatTensor<Self> {
        native::<C, 1>([logits], |[logits]| cross_entropy(logits, &targets.tensor))
    }
}

/// Mean cross-entropy `[1]` of `logits` `[B, q, H, W]` against the levels `targets`
/// `[B, H, W]`: libtorch's fused log-softmax and NLL, and their fused backward.
fn cross_entropy(logits: &tch::Tensor, targets: &tch::Tensor) -> tch::Tensor {
    logits.cross_entropy_loss::<tch::Tensor>(targets, None, tch::Reduction::Mean, -100, 0.0).reshape([1])
}

/// [`crate::nll_per_pixel`] on libtorch: mean NLL per pixel `[1]` of `logits` `[B, q, H, W]`
/// against `targets` `[B, H, W]`; `logits` must be on libtorch ([`super::on_libtorch`]).
pub(crate) fn mean_nll(logits: Tensor<4>, targets: Tensor<3, Int>) -> Tensor<1> {
    Tensor::from_dispatch(<Dispatch as CrossEntropyOps>::native_mean_nll(
        logits.into_dispatch(),
        targets.into_dispatch(),
    ))
}
