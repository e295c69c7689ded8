//! The seed's loss, `CategoricalCrossentropy(from_logits=True)` on one-hot targets: the negative
//! log-likelihood of each pixel's level, in nats.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

/// Log-probability of each target level, `[B, 1, H, W]`, from logits `[B, q, H, W]` and targets
/// `[B, H, W]` with values in `0..q`.
fn target_log_probs(logits: Tensor<4>, targets: Tensor<3, Int>) -> Tensor<4> {
    log_softmax(logits, 1).gather(1, targets.unsqueeze_dim::<4>(1))
}

/// Mean negative log-likelihood per pixel (nats), `[1]`, over every pixel of the batch: the seed's
/// training loss. Divide by `ln 2` for bits per dimension.
///
/// On libtorch this is libtorch's fused cross-entropy (equal within float rounding).
pub fn nll_per_pixel(logits: Tensor<4>, targets: Tensor<3, Int>) -> Tensor<1> {
    #[cfg(feature = "tch")]
    if crate::native::on_libtorch(&logits) {
        return crate::native::mean_nll(logits, targets);
    }
    target_log_probs(logits, targets).mean().neg()
}

/// Summed negative log-likelihood (nats), `[1]`, over every pixel of the batch.
///
/// Evaluation adds these (in `f64` on the host) over a whole test set and divides by the total
/// number of pixels, an exact mean even when the last batch is smaller, where the seed averages
/// batch means.
pub fn nll_sum(logits: Tensor<4>, targets: Tensor<3, Int>) -> Tensor<1> {
    target_log_probs(logits, targets).sum().neg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn equal_logits_cost_ln_q_nats_per_pixel() {
        let device = Device::flex();
        for q in [2, 5, 256] {
            let logits = Tensor::<4>::zeros([2, q, 3, 4], &device);
            let levels: Vec<i64> = (0..24).map(|i| (i * 7 % q) as i64).collect();
            let targets = Tensor::<3, Int>::from_data(TensorData::new(levels, [2, 3, 4]), &device);
            let mean = nll_per_pixel(logits.clone(), targets.clone()).into_scalar::<f32>();
            let sum = nll_sum(logits, targets).into_scalar::<f32>();
            // Exact up to f32 rounding in log_softmax and the reduction.
            let ln_q = (q as f32).ln();
            assert!((mean / ln_q - 1.0).abs() < 1e-6, "q={q}: {mean} vs {ln_q}");
            assert!((sum / (24.0 * ln_q) - 1.0).abs() < 1e-6, "q={q}: {sum}");
        }
    }

    #[test]
    fn nll_picks_the_target_level() {
        let device = Device::flex();
        // One pixel, q = 2, logits (0, ln 3): p = (1/4, 3/4).
        let logits =
            Tensor::<4>::from_data(TensorData::new(vec![0.0f32, 3.0f32.ln()], [1, 2, 1, 1]), &device);
        for (level, p) in [(0i64, 0.25f32), (1, 0.75)] {
            let targets = Tensor::<3, Int>::from_data(TensorData::new(vec![level], [1, 1, 1]), &device);
            let nll = nll_per_pixel(logits.clone(), targets).into_scalar::<f32>();
            assert!((nll + p.ln()).abs() < 1e-6, "level {level}: {nll}");
        }
    }
}
