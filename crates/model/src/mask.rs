//! The causal masks of PixelCNN's masked convolutions, built exactly like the seed's numpy code.

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Which causal mask a [`MaskedConv2d`](crate::MaskedConv2d) applies.
///
/// Both hide every pixel after the centre in raster order; they differ only at the centre tap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MaskType {
    /// Hides the centre tap too: used by the first layer, so a pixel never sees its own value.
    A,
    /// Keeps the centre tap: used by later layers, whose centre carries only information from
    /// earlier pixels.
    B,
}

/// The `k x k` mask of the seed, row-major (`mask[row * k + col]`), 1 where a tap is kept.
///
/// Same construction as the seed's `MaskedConv2D.build`, with centre `c = k / 2`:
/// ones everywhere, then `mask[c, c + (type == B):] = 0` and `mask[c + 1:, :] = 0`.
pub fn mask(kernel_size: usize, mask_type: MaskType) -> Vec<f32> {
    let k = kernel_size;
    let centre = k / 2;
    let first_hidden_in_centre_row = centre + usize::from(mask_type == MaskType::B);
    let mut mask = vec![1.0; k * k];
    for col in first_hidden_in_centre_row..k {
        mask[centre * k + col] = 0.0;
    }
    mask[(centre + 1) * k..].fill(0.0);
    mask
}

/// The mask broadcast to burn's convolution weight layout `[out, in, k, k]`, ready to multiply the
/// weight with, so every output/input channel pair uses the same spatial mask (as in the seed).
pub fn mask_tensor(
    kernel_size: usize,
    mask_type: MaskType,
    in_channels: usize,
    out_channels: usize,
    device: &Device,
) -> Tensor<4> {
    let values = mask(kernel_size, mask_type).repeat(out_channels * in_channels);
    let shape = [out_channels, in_channels, kernel_size, kernel_size];
    Tensor::from_data(TensorData::new(values, shape), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_3_masks_match_the_seed() {
        #[rustfmt::skip]
        let a = [
            1., 1., 1.,
            1., 0., 0.,
            0., 0., 0.,
        ];
        #[rustfmt::skip]
        let b = [
            1., 1., 1.,
            1., 1., 0.,
            0., 0., 0.,
        ];
        assert_eq!(mask(3, MaskType::A), a);
        assert_eq!(mask(3, MaskType::B), b);
    }

    #[test]
    fn kernel_7_masks_match_the_seed() {
        #[rustfmt::skip]
        let a = [
            1., 1., 1., 1., 1., 1., 1.,
            1., 1., 1., 1., 1., 1., 1.,
            1., 1., 1., 1., 1., 1., 1.,
            1., 1., 1., 0., 0., 0., 0.,
            0., 0., 0., 0., 0., 0., 0.,
            0., 0., 0., 0., 0., 0., 0.,
            0., 0., 0., 0., 0., 0., 0.,
        ];
        #[rustfmt::skip]
        let b = [
            1., 1., 1., 1., 1., 1., 1.,
            1., 1., 1., 1., 1., 1., 1.,
            1., 1., 1., 1., 1., 1., 1.,
            1., 1., 1., 1., 0., 0., 0.,
            0., 0., 0., 0., 0., 0., 0.,
            0., 0., 0., 0., 0., 0., 0.,
            0., 0., 0., 0., 0., 0., 0.,
        ];
        assert_eq!(mask(7, MaskType::A), a);
        assert_eq!(mask(7, MaskType::B), b);
    }

    #[test]
    fn mask_tensor_repeats_the_mask_for_every_channel_pair() {
        let device = Device::flex();
        let tensor = mask_tensor(3, MaskType::B, 2, 3, &device);
        assert_eq!(tensor.dims(), [3, 2, 3, 3]);
        let values = tensor.try_into_vec_as::<f32>().unwrap();
        for pair in values.chunks(9) {
            assert_eq!(pair, mask(3, MaskType::B));
        }
    }
}
