//! The numbers a run reports per epoch, in the seed's units: NLL in nats per pixel, bits per
//! dimension (nats / ln 2) and nats per image (nats x pixels per image).

use serde::{Deserialize, Serialize};

/// Converts nats per pixel to bits per dimension.
pub fn bits_per_dim(nats_per_pixel: f64) -> f64 {
    nats_per_pixel / std::f64::consts::LN_2
}

/// Metrics of one finished epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Optimisation steps taken since the run began.
    pub step: u64,
    /// Mean training NLL over the epoch's pixels (nats/pixel).
    pub train_nll: f64,
    /// NLL of the held-out validation split, when the run has one (nats/pixel).
    pub validation_nll: Option<f64>,
    /// NLL over every pixel of the test set (an exact mean, not a mean of batch means).
    pub test_nll: f64,
    /// Test NLL in bits per dimension.
    pub test_bits_per_dim: f64,
    /// Test NLL in nats per image.
    pub test_nats_per_image: f64,
    /// Learning rate after the epoch's last step.
    pub lr: f64,
    /// Wall time of the epoch (training and evaluation).
    pub seconds: f64,
    /// Training throughput.
    pub images_per_second: f64,
}

impl EpochMetrics {
    /// The metric that picks the best epoch: validation NLL when a split exists, else test NLL.
    pub fn selection_nll(&self) -> f64 {
        self.validation_nll.unwrap_or(self.test_nll)
    }

    /// The same metrics with the timing columns zeroed: what reruns compare bit for bit.
    pub fn without_timing(&self) -> Self {
        Self { seconds: 0.0, images_per_second: 0.0, ..self.clone() }
    }
}
