//! Keras' default initialisation (Glorot-uniform kernels, zero biases), which the seed relies on.

use burn::module::{Initializer, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Device, Tensor};

/// Keras' `glorot_uniform`: `U(-limit, limit)` with `limit = sqrt(6 / (fan_in + fan_out))`.
///
/// burn's `XavierUniform { gain: 1.0 }` draws from `U(-a, a)` with
/// `a = sqrt(3) * sqrt(2 / (fan_in + fan_out))`, the same limit; for convolutions both libraries
/// take `fan_in = kh * kw * in` and `fan_out = kh * kw * out` (burn's `Conv2dConfig::init` and
/// [`glorot_conv_weight`] pass exactly these).
pub const GLOROT_UNIFORM: Initializer = Initializer::XavierUniform { gain: 1.0 };

/// The Glorot-uniform limit of a convolution kernel of shape `[out, in, k, k]`.
pub fn glorot_limit(in_channels: usize, out_channels: usize, kernel_size: usize) -> f64 {
    let taps = kernel_size * kernel_size;
    (6.0 / ((in_channels + out_channels) * taps) as f64).sqrt()
}

/// A Glorot-uniform convolution weight `[out, in, k, k]`, with fans over the full kernel (Keras
/// computes them before any mask is applied).
pub fn glorot_conv_weight(
    in_channels: usize,
    out_channels: usize,
    kernel_size: usize,
    device: &Device,
) -> Param<Tensor<4>> {
    let taps = kernel_size * kernel_size;
    GLOROT_UNIFORM.init_with(
        [out_channels, in_channels, kernel_size, kernel_size],
        Some(in_channels * taps),
        Some(out_channels * taps),
        device,
    )
}

/// A zero bias `[channels]`, Keras' default `bias_initializer`.
pub fn zero_bias(channels: usize, device: &Device) -> Param<Tensor<1>> {
    Initializer::Zeros.init([channels], device)
}

/// The seed's unmasked `keras.layers.Conv2D(filters, kernel_size=1)`: a 1x1 convolution with a
/// Glorot-uniform kernel and a zero bias.
pub fn conv1x1(in_channels: usize, out_channels: usize, device: &Device) -> Conv2d {
    conv(in_channels, out_channels, [1, 1], device)
}

/// An unpadded stride-1 convolution with a `kernel` (`[kh, kw]`) initialised as Keras would: a
/// Glorot-uniform kernel (fans `kh * kw * in` and `kh * kw * out`) and a zero bias (burn's
/// `Conv2dConfig` would draw the bias from its initializer, so it is replaced). Padding is the
/// caller's ([`crate::native::padded_conv2d`]).
pub fn conv(in_channels: usize, out_channels: usize, kernel: [usize; 2], device: &Device) -> Conv2d {
    let conv =
        Conv2dConfig::new([in_channels, out_channels], kernel).with_initializer(GLOROT_UNIFORM).init(device);
    Conv2d { bias: Some(zero_bias(out_channels, device)), ..conv }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv1x1_has_zero_bias_and_glorot_weights() {
        let device = Device::flex();
        let conv = conv1x1(16, 8, &device);
        assert_eq!(conv.weight.dims(), [8, 16, 1, 1]);
        let bias = conv.bias.expect("bias").val().try_into_vec_as::<f32>().unwrap();
        assert_eq!(bias, vec![0.0; 8]);
        let limit = glorot_limit(16, 8, 1) as f32;
        let max_abs = conv.weight.val().abs().max().into_scalar::<f32>();
        assert!(max_abs <= limit && max_abs > 0.9 * limit, "{max_abs} vs {limit}");
    }
}
