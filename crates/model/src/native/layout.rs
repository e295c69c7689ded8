//! Channels-last strides, the layout oneDNN's convolution kernels prefer, for libtorch tensors.

/// `t` flattened, a `[B, C, H, W]` tensor in NHWC order: a view when `t` is channels-last.
pub(crate) fn flat(t: &tch::Tensor) -> tch::Tensor {
    if t.dim() == 4 { t.permute([0, 2, 3, 1]).reshape([-1]) } else { t.reshape([-1]) }
}

/// `t` `[B, C, H, W]` in channels-last strides: `t` itself when it already is (or has a single
/// channel, where both layouts are the same memory), else a copy.
pub(crate) fn channels_last(t: &tch::Tensor) -> tch::Tensor {
    if t.size()[1] == 1 || t.stride()[1] == 1 {
        t.shallow_clone()
    } else {
        t.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
    }
}
