//! The seed notebook's published results, shown next to ours with their recipe, and the caveat on
//! its 2-level data.

use serde::Serialize;

/// Pixels per MNIST image, for nats per image.
pub const MNIST_PIXELS: f64 = 784.0;

/// One published result of the seed notebook.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SeedResult {
    /// Quantisation levels `q`.
    pub levels: u64,
    /// Reported test bits per dimension after 100 epochs.
    pub bits_per_dim: f64,
}

impl SeedResult {
    /// The same figure in nats per pixel (the notebook's "nll").
    pub fn nats_per_pixel(&self) -> f64 {
        self.bits_per_dim * std::f64::consts::LN_2
    }

    /// The same figure in nats per image.
    pub fn nats_per_image(&self) -> f64 {
        self.nats_per_pixel() * MNIST_PIXELS
    }
}

/// What the notebook's run did differently from ours, in the words shown next to its numbers.
pub const SEED_RECIPE: &str = "seed notebook (published): batch 256, 100 epochs, 15 blocks, h = 64, one seed, \
     test NLL as a mean of per-batch means";

/// The notebook's reported results (q = 2 and q = 256, after 100 epochs).
pub const SEED_RESULTS: [SeedResult; 2] =
    [SeedResult { levels: 2, bits_per_dim: 0.1157 }, SeedResult { levels: 256, bits_per_dim: 0.9053 }];

/// The published result for `levels`, if the notebook reported one.
pub fn seed_result(levels: u64) -> Option<SeedResult> {
    SEED_RESULTS.into_iter().find(|r| r.levels == levels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_conversions_follow_the_brief() {
        let q2 = seed_result(2).unwrap();
        assert!((q2.nats_per_pixel() - 0.1157 * 2f64.ln()).abs() < 1e-12);
        assert!((q2.nats_per_image() - 0.1157 * 2f64.ln() * 784.0).abs() < 1e-9);
        assert_eq!(seed_result(256).unwrap().bits_per_dim, 0.9053);
        assert_eq!(seed_result(16), None);
    }
}
