//! The seed notebook's PixelCNN (Oord et al., 2016) on burn 0.22, and the gated PixelCNN of the
//! same authors (without the blind spot, optionally class-conditional): the model families a run
//! can train ([`Model`], chosen by [`ModelConfig`]). Masked and padded convolutions, residual
//! blocks and gated layers, the models with Keras' initialisation, their loss and two samplers
//! that draw the same images (up to draws within rounding of a class boundary): the cached one
//! ([`cached_sample`], the default) and the seed's naive one ([`mod@sample`], the reference).
//! [`Draw`] gives the configuration's `Sampler` its implementation.
//!
//! Each family has its own folder ([`pixelcnn`], [`gated`]); the pieces families share are the
//! masked convolution, the initialisers, the loss, the samplers and the libtorch-native ops
//! ([`native`]).
//! Tensors are NCHW (`[batch, channels, height, width]`); convolution kernels are burn's
//! `[out, in, kh, kw]` (the seed's Keras kernels are `[kh, kw, in, out]`).

pub mod cached_sample;
pub mod family;
pub mod gated;
pub mod init;
pub mod loss;
pub mod mask;
pub mod masked_conv;
pub mod native;
pub mod pixelcnn;
pub mod sample;
pub mod sampler;

pub use family::{Model, ModelConfig};
pub use gated::{GatedPixelCnn, GatedPixelCnnConfig};
pub use loss::{nll_per_pixel, nll_sum};
pub use mask::MaskType;
pub use masked_conv::{MaskedConv2d, MaskedConv2dConfig};
pub use pixelcnn::residual::{ResidualBlock, ResidualBlockConfig};
pub use pixelcnn::{PixelCnn, PixelCnnConfig};
pub use sample::draw_level;
pub use sampler::Draw;
