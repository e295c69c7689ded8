//! The seed's `MaskedConv2D`: a 'same'-padded, stride-1 convolution whose kernel is multiplied by a
//! causal mask before every use.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use crate::init::{glorot_conv_weight, zero_bias};
use crate::mask::{MaskType, mask_tensor};
use crate::native::causal_conv2d;

/// Configuration of a [`MaskedConv2d`].
#[derive(Config, Debug)]
pub struct MaskedConv2dConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels (the seed's `filters`).
    pub out_channels: usize,
    /// Side of the square kernel; must be odd so the kernel has a centre tap.
    pub kernel_size: usize,
    /// The causal mask applied to the kernel.
    pub mask_type: MaskType,
}

impl MaskedConv2dConfig {
    /// Builds the layer with Keras' defaults: a Glorot-uniform kernel (fans over the full, unmasked
    /// kernel) and a zero bias; the mask is rebuilt here, never loaded.
    ///
    /// # Panics
    /// If `kernel_size` is even.
    pub fn init(&self, device: &Device) -> MaskedConv2d {
        let k = self.kernel_size;
        assert!(k % 2 == 1, "masked convolutions need an odd kernel size, got {k}");
        MaskedConv2d {
            weight: glorot_conv_weight(self.in_channels, self.out_channels, k, device),
            bias: zero_bias(self.out_channels, device),
            mask: mask_tensor(k, self.mask_type, self.in_channels, self.out_channels, device),
        }
    }
}

/// A convolution that cannot see pixels after its centre (mask B) or from its centre on (mask A),
/// which is what makes PixelCNN autoregressive.
///
/// The masked taps stay in `weight` (so parameter counts match Keras) but always meet a zero in
/// `mask`, so they never affect the output and their gradient is exactly zero.
#[derive(Module, Debug)]
pub struct MaskedConv2d {
    /// Kernel `[out, in, k, k]`, including the masked taps.
    pub weight: Param<Tensor<4>>,
    /// Bias `[out]`.
    pub bias: Param<Tensor<1>>,
    /// Constant mask `[out, in, k, k]` of zeros and ones: not a parameter, not saved.
    pub mask: Tensor<4>,
}

impl MaskedConv2d {
    /// Convolves `input` `[B, in, H, W]` into `[B, out, H, W]` with the masked kernel.
    ///
    /// The mask product stays a burn op, so the gradient reaching the masked taps of `weight` is
    /// exactly zero whichever backward the convolution itself takes ([`causal_conv2d`], which
    /// may skip the kernel rows below the centre: every mask zeroes them).
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        causal_conv2d(input, self.weight.val() * self.mask.clone(), self.bias.val())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::glorot_limit;
    use crate::mask::mask;

    fn layer(mask_type: MaskType) -> MaskedConv2d {
        MaskedConv2dConfig::new(3, 4, 5, mask_type).init(&Device::flex())
    }

    #[test]
    fn init_draws_glorot_weights_and_zero_bias() {
        let conv = layer(MaskType::A);
        assert_eq!(conv.weight.dims(), [4, 3, 5, 5]);
        let bias = conv.bias.val().try_into_vec_as::<f32>().unwrap();
        assert_eq!(bias, vec![0.0; 4]);
        let limit = glorot_limit(3, 4, 5) as f32;
        let max_abs = conv.weight.val().abs().max().into_scalar::<f32>();
        assert!(max_abs <= limit && max_abs > 0.9 * limit, "{max_abs} vs {limit}");
    }

    #[test]
    fn output_keeps_the_spatial_size() {
        let conv = layer(MaskType::B);
        let input = Tensor::<4>::ones([2, 3, 6, 7], &Device::flex());
        assert_eq!(conv.forward(input).dims(), [2, 4, 6, 7]);
    }

    /// A one-hot input at the centre of a 5x5 image shows which taps reach the centre output: the
    /// response at output (r, c) comes from kernel tap (4 - r, 4 - c), so it must vanish exactly
    /// where the flipped mask is zero.
    #[test]
    fn masked_taps_do_not_reach_the_output() {
        let device = Device::flex();
        for mask_type in [MaskType::A, MaskType::B] {
            let conv = MaskedConv2dConfig::new(1, 1, 5, mask_type).init(&device);
            let mut image = vec![0.0f32; 25];
            image[12] = 1.0;
            let input = Tensor::<4>::from_data(burn::tensor::TensorData::new(image, [1, 1, 5, 5]), &device);
            let output = conv.forward(input).try_into_vec_as::<f32>().unwrap();
            let kept = mask(5, mask_type);
            for (position, value) in output.iter().enumerate() {
                if kept[24 - position] == 0.0 {
                    assert_eq!(*value, 0.0, "{mask_type:?} leaked through tap {}", 24 - position);
                }
            }
        }
    }

    /// Masked taps get an exactly zero gradient, so training never moves them.
    #[test]
    fn masked_taps_get_zero_gradient() {
        let device = Device::flex().autodiff();
        let conv = MaskedConv2dConfig::new(2, 3, 3, MaskType::A).init(&device);
        let input = Tensor::<4>::random([2, 2, 4, 4], burn::tensor::Distribution::Default, &device);
        let grads = conv.forward(input).sum().backward();
        let grad = conv.weight.val().grad(&grads).expect("weight gradient");
        let grad = grad.try_into_vec_as::<f32>().unwrap();
        let kept = mask(3, MaskType::A);
        for (index, value) in grad.iter().enumerate() {
            if kept[index % 9] == 0.0 {
                assert_eq!(*value, 0.0, "masked tap {index} has gradient {value}");
            } else {
                assert_ne!(*value, 0.0, "kept tap {index} has no gradient");
            }
        }
    }
}
