//! The seed's `ResidualBlock` (figure 5 of Oord et al., 2016).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Tensor};

use super::native::residual_blocks;
use crate::init::conv1x1;
use crate::mask::MaskType;
use crate::masked_conv::{MaskedConv2d, MaskedConv2dConfig};
use crate::native::{ConvParams, conv1x1_params};

/// Configuration of a [`ResidualBlock`].
#[derive(Config, Debug)]
pub struct ResidualBlockConfig {
    /// `h`: the block works on `2h` channels and narrows to `h` inside.
    pub hidden: usize,
}

impl ResidualBlockConfig {
    /// Builds the block's three convolutions with Keras' default initialisation.
    pub fn init(&self, device: &Device) -> ResidualBlock {
        let h = self.hidden;
        ResidualBlock {
            conv2a: conv1x1(2 * h, h, device),
            conv2b: MaskedConv2dConfig::new(h, h, 3, MaskType::B).init(device),
            conv2c: conv1x1(h, 2 * h, device),
        }
    }
}

/// relu -> 1x1 (2h->h) -> relu -> 3x3 mask B (h->h) -> relu -> 1x1 (h->2h), plus the input.
///
/// Only the 3x3 convolution mixes pixels, and its mask B keeps the block causal. Field names are
/// the seed's.
#[derive(Module, Debug)]
pub struct ResidualBlock {
    /// 1x1 convolution `2h -> h`.
    pub conv2a: Conv2d,
    /// 3x3 mask-B convolution `h -> h`.
    pub conv2b: MaskedConv2d,
    /// 1x1 convolution `h -> 2h`.
    pub conv2c: Conv2d,
}

impl ResidualBlock {
    /// Maps `input` `[B, 2h, H, W]` to `[B, 2h, H, W]`.
    ///
    /// Computed by the family's native step (`native.rs`), as the model computes all its blocks
    /// at once.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        residual_blocks(input, vec![self.convs()])
    }

    /// The block's three convolutions (kernel with its mask applied, bias), in order.
    pub(super) fn convs(&self) -> [ConvParams; 3] {
        let b = &self.conv2b;
        [
            conv1x1_params(&self.conv2a),
            (b.weight.val() * b.mask.clone(), b.bias.val()),
            conv1x1_params(&self.conv2c),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn block_keeps_the_shape() {
        let device = Device::flex();
        let block = ResidualBlockConfig::new(4).init(&device);
        let input = Tensor::<4>::random([2, 8, 5, 6], Distribution::Default, &device);
        assert_eq!(block.forward(input).dims(), [2, 8, 5, 6]);
    }
}
