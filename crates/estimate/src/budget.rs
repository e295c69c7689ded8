//! The epochs a search trains against its full grid, and durations as people read them. How long
//! an epoch takes on this machine is [`crate::throughput`]'s part.

use pixelcnn_config::Experiment;
use pixelcnn_record::Budget;

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
        s if s < 10.0 => format!("{s:.1} s"),
        s if s < 90.0 => format!("{s:.0} s"),
        s if s < 5400.0 => format!("{:.0} min", s / 60.0),
        s if s < 172_800.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.1} days", s / 86_400.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(human(1.24), "1.2 s");
        assert_eq!(human(42.0), "42 s");
        assert_eq!(human(600.0), "10 min");
        assert_eq!(human(7200.0), "2.0 h");
        assert_eq!(human(351_273.8), "4.1 days");
    }
}
