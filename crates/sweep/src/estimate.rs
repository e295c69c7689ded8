//! Rough wall-time estimate of a run, from the multiply-adds of the model (which the model crate
//! counts for each family) and assumed throughputs. It only has to tell a user whether a sweep
//! takes minutes or days. And the epochs a search trains against its full grid.

use pixelcnn_config::{Experiment, RunConfig};
use pixelcnn_record::Budget;
use pixelcnn_train::model_config;

/// Assumed sustained FLOP/s of libtorch on a CPU core pair (the seed model trains at about
/// 17 images/s here, 4.2 GFLOP each) and on one CUDA device.
const CPU_FLOPS: f64 = 70e9;
const CUDA_FLOPS: f64 = 20e12;

/// Estimated seconds to train, evaluate and sample one run.
pub fn run_seconds(config: &RunConfig, train_images: usize, test_images: usize, cuda: bool) -> f64 {
    let pixels = 784.0;
    let forward = 2.0 * model_config(config).macs_per_pixel() * pixels;
    let epochs = config.train.epochs as f64;
    let train = 3.0 * forward * train_images as f64 * epochs;
    let eval = forward * test_images as f64 * epochs;
    let s = &config.sample;
    let sample_rounds = if s.every == 0 { 1.0 } else { (epochs / s.every as f64).ceil() };
    // The naive sampler runs the whole batch once per generated pixel.
    let sampling = forward * pixels * (s.count + s.complete) as f64 * sample_rounds;
    (train + eval + sampling) / if cuda { CUDA_FLOPS } else { CPU_FLOPS }
}

/// What a sweep trains, in epochs of all its runs together, against the full grid of its axes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochBudget {
    /// Every planned run trained to its `train.epochs` (`max_epochs` in an ASHA search): the
    /// search without early stopping.
    pub planned: u64,
    /// Every configuration of the full grid of the axes trained to `train.epochs`; `None` when an
    /// axis is a continuous range.
    pub grid: Option<u64>,
    /// An ASHA search's epochs over the planned runs: least, expected, at most.
    pub asha: Option<Budget>,
}

/// The epoch budget of an experiment's search.
pub fn epoch_budget(exp: &Experiment) -> EpochBudget {
    EpochBudget {
        planned: exp.runs.iter().map(|r| r.config.train.epochs as u64).sum(),
        grid: exp.search.grid_runs.map(|n| (n as u64).saturating_mul(exp.base.train.epochs as u64)),
        asha: exp.search.asha.map(|a| a.budget(exp.runs.len())),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The estimates of the seed's models and two small ones, as computed before the multiply-adds
    /// moved to the model crate: the same to the last bit.
    #[test]
    fn estimates_are_unchanged() {
        let expected = [
            ((2, 15, 64, 7), 351_273.788_178_432, 91.151_144_189_952),
            ((256, 15, 64, 7), 365_173.701_279_744, 94.757_997_379_584),
            ((4, 1, 4, 3), 160.751_947_776, 0.041_713_115_136),
            ((256, 3, 16, 5), 8_550.635_52, 2.218_782_72),
        ];
        for ((levels, blocks, hidden, first_kernel), cpu, cuda) in expected {
            let mut config = RunConfig::default();
            config.model.levels = pixelcnn_config::Levels::new(levels).unwrap();
            config.model.blocks = blocks;
            config.model.hidden = hidden;
            config.model.first_kernel = first_kernel;
            assert_eq!(run_seconds(&config, 60_000, 10_000, false), cpu, "{:?}", config.model);
            assert_eq!(run_seconds(&config, 4096, 1000, true), cuda, "{:?}", config.model);
        }
        assert_eq!(human(351_273.788_178_432), "4.1 days");
    }
}
