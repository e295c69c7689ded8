//! The PixelCNN's residual stack as one native step: on libtorch with autodiff all blocks are one
//! step of burn's graph, differentiated by libtorch (see [`crate::native`] for why).

use burn::tensor::Tensor;

use crate::native::{ConvParams, causal_conv2d, relu};

/// Residual blocks one after another, `blocks[i]` holding block i's three convolutions: each block
/// is `relu` then [`causal_conv2d`] with each of its convolutions in turn, plus its input
/// (`[B, C, H, W]` in and out).
///
/// On libtorch with autodiff the whole stack is one step of burn's graph, differentiated by
/// libtorch: the blocks' kernels and biases go in packed into one flat tensor (a copy of under a
/// million numbers per step), so the backward starts from one output gradient for all blocks
/// instead of one per convolution. All blocks must have the same shapes there, as the model's do.
pub(crate) fn residual_blocks(input: Tensor<4>, blocks: Vec<[ConvParams; 3]>) -> Tensor<4> {
    #[cfg(feature = "tch")]
    if crate::native::on_libtorch(&input) && !blocks.is_empty() {
        return libtorch::residual_blocks(input, blocks);
    }
    blocks.into_iter().fold(input, |input, convs| {
        let x =
            convs.into_iter().fold(input.clone(), |x, (weight, bias)| causal_conv2d(relu(x), weight, bias));
        x + input
    })
}

#[cfg(feature = "tch")]
#[allow(deprecated)] // burn 0.22 marks its libtorch backend deprecated; it is our main backend
mod libtorch {
    //! The residual stack as a backend extension: its libtorch implementation (inference) and its
    //! autodiff implementation, whose backward is libtorch's.

    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::libtorch::TchTensor;
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Autodiff, Backend, Dispatch, LibTorch, backend_extension};
    use burn::tensor::Tensor;

    use crate::native::autograd::native;
    use crate::native::{ConvParams, convolve};

    /// The residual stack, one backward pass for all its blocks.
    #[backend_extension(Autodiff, LibTorch)]
    pub trait ResidualOps: Backend {
        /// [`super::residual_blocks`], the kernels and biases packed in `params` (see [`blocks`]).
        fn native_residual_blocks(
            x: FloatTensor<Self>,
            params: FloatTensor<Self>,
            shapes: BlockShapes,
        ) -> FloatTensor<Self>;
    }

    /// Without autodiff (evaluation, sampling): the same computation as in training, so logits do
    /// not depend on whether gradients are tracked.
    impl ResidualOps for LibTorch {
        fn native_residual_blocks(x: TchTensor, params: TchTensor, shapes: BlockShapes) -> TchTensor {
            TchTensor::new(blocks(&x.tensor, &params.tensor, shapes))
        }
    }

    impl<C: CheckpointStrategy> ResidualOps for Autodiff<LibTorch, C> {
        fn native_residual_blocks(
            x: FloatTensor<Self>,
            params: FloatTensor<Self>,
            shapes: BlockShapes,
        ) -> FloatTensor<Self> {
            native::<C, 2>([x, params], |[x, params]| blocks(x, params, shapes))
        }
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

    /// The extension's residual blocks; `x` must be on libtorch ([`crate::native::on_libtorch`])
    /// and `blocks` not empty.
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
        Tensor::from_dispatch(<Dispatch as ResidualOps>::native_residual_blocks(
            x.into_dispatch(),
            Tensor::cat(packed, 0).into_dispatch(),
            shapes,
        ))
    }
}
