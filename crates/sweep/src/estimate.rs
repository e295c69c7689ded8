//! Rough wall-time estimate of a run, from the multiply-adds of the model and assumed throughputs.
//! It only has to tell a user whether a sweep takes minutes or days.

use pixelcnn_config::RunConfig;

/// Assumed sustained FLOP/s of libtorch on a CPU core pair (the seed model trains at about
/// 17 images/s here, 4.2 GFLOP each) and on one CUDA device.
const CPU_FLOPS: f64 = 70e9;
const CUDA_FLOPS: f64 = 20e12;

/// Multiply-adds per pixel of one forward pass (masked taps counted, as dense kernels compute them).
pub fn macs_per_pixel(config: &RunConfig) -> f64 {
    let m = &config.model;
    let (h, k, q) = (m.hidden as f64, m.first_kernel as f64, m.levels as f64);
    let first = k * k * 2.0 * h;
    let block = 2.0 * h * h + 9.0 * h * h + h * 2.0 * h;
    let head = 4.0 * h * h + 2.0 * h * q;
    first + m.blocks as f64 * block + head
}

/// Estimated seconds to train, evaluate and sample one run.
pub fn run_seconds(config: &RunConfig, train_images: usize, test_images: usize, cuda: bool) -> f64 {
    let pixels = 784.0;
    let forward = 2.0 * macs_per_pixel(config) * pixels;
    let epochs = config.train.epochs as f64;
    let train = 3.0 * forward * train_images as f64 * epochs;
    let eval = forward * test_images as f64 * epochs;
    let s = &config.sample;
    let sample_rounds = if s.every == 0 { 1.0 } else { (epochs / s.every as f64).ceil() };
    // The naive sampler runs the whole batch once per generated pixel.
    let sampling = forward * pixels * (s.count + s.complete) as f64 * sample_rounds;
    (train + eval + sampling) / if cuda { CUDA_FLOPS } else { CPU_FLOPS }
}

/// Human-readable duration.
pub fn human(seconds: f64) -> String {
    match seconds {
        s if s < 90.0 => format!("{s:.0} s"),
        s if s < 5400.0 => format!("{:.0} min", s / 60.0),
        s if s < 172_800.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.1} days", s / 86_400.0),
    }
}
