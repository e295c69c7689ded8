//! Successive halving, asynchronous (ASHA, Li et al. 2018) or synchronous (SHA), as a search of an
//! experiment file runs it: the settings (`[search]` with `strategy = "asha"` or `"sha"`), where
//! its rungs lie, the rules that decide at a rung ([`rule`]) and what a search costs in epochs
//! ([`budget`]). Shared by the
//! config crate (which reads the settings), the store (which applies the rule inside a
//! transaction), the sweep (whose workers ask at each rung) and the report (which shows the rungs).

mod budget;
mod rule;

use serde::{Deserialize, Serialize};

use crate::metrics::EpochMetrics;

pub use budget::Budget;
pub use rule::{RungDecision, RungEntry, RungRanking, rank_all_at_rung, rank_at_rung};

crate::named_enum! {
    /// The metric the rungs compare, lower is better. Its name is the one in `[search] metric`
    /// and the `epochs` column it reads.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum RungMetric ("metric") {
        /// NLL of the held-out validation split: the honest choice.
        ValidationNll = "validation_nll",
        /// NLL of the test set, chosen explicitly: the search then selects on the numbers it
        /// reports, so they are optimistic, and the report says so.
        TestNll = "test_nll",
    }
}

impl RungMetric {
    /// Its value in an epoch; `None` when the epoch has none (no validation split) or it is not
    /// finite (a diverged run), which never continues.
    pub fn of(self, epoch: &EpochMetrics) -> Option<f64> {
        let value = match self {
            RungMetric::ValidationNll => epoch.validation_nll,
            RungMetric::TestNll => Some(epoch.test_nll),
        };
        value.filter(|v| v.is_finite())
    }

    /// Whether choosing by it makes the reported test numbers optimistic.
    pub fn is_optimistic(self) -> bool {
        self == RungMetric::TestNll
    }
}

crate::named_enum! {
    /// When a rung decides.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub enum Promotion ("promotion") {
        /// ASHA: each run is decided as it arrives, against those recorded before it
        /// ([`rank_at_rung`]). No run waits, so workers never idle; what it trains depends on the
        /// order of arrival, hence a budget that is an expectation.
        #[default]
        Asynchronous = "asynchronous",
        /// SHA: a rung is decided once every configuration still in the search has reported there
        /// ([`rank_all_at_rung`]); runs wait at the rung (`paused`), then exactly the top `1/eta`
        /// continue. The budget is exact; the price is waiting, which one machine or a few workers
        /// barely pay.
        Synchronous = "synchronous",
    }
}

/// The settings of a successive-halving search. Every run trains up to `max_epochs`; at each
/// rung epoch `grace_epochs x reduction_factor^k` below `max_epochs` it continues only if the
/// rung's rule ([`Promotion`]) says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Asha {
    /// What the rungs compare.
    pub metric: RungMetric,
    /// eta: about one run in eta continues past each rung (at least 2).
    pub reduction_factor: u32,
    /// The first rung's epoch (at least 1).
    pub grace_epochs: u32,
    /// The epochs of a run that is never stopped.
    pub max_epochs: u32,
    /// Whether a rung decides each run as it arrives or all of them at once.
    #[serde(default)]
    pub promotion: Promotion,
}

impl Asha {
    /// The rung epochs, ascending: `grace x eta^k` for every k that stays below `max_epochs` (a
    /// run that reaches `max_epochs` has finished; nothing is left to decide).
    pub fn rungs(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut epoch = self.grace_epochs.max(1);
        while epoch < self.max_epochs {
            out.push(epoch);
            match epoch.checked_mul(self.reduction_factor.max(2)) {
                Some(next) => epoch = next,
                None => break,
            }
        }
        out
    }

    /// The rung (its index, from 0) whose epoch is `epoch`, if any.
    pub fn rung_of(&self, epoch: u32) -> Option<u32> {
        self.rungs().iter().position(|&r| r == epoch).map(|k| k as u32)
    }

    /// The epoch of rung `rung`, if the search has that rung.
    pub fn rung_epoch(&self, rung: u32) -> Option<u32> {
        self.rungs().get(rung as usize).copied()
    }
}

/// Settings for tests: reduction factor `eta`, `grace` and `max` epochs, ranking validation NLL.
#[cfg(test)]
pub(crate) fn asha(eta: u32, grace: u32, max: u32) -> Asha {
    Asha {
        metric: RungMetric::ValidationNll,
        reduction_factor: eta,
        grace_epochs: grace,
        max_epochs: max,
        promotion: Promotion::Asynchronous,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rungs_grow_by_eta_and_stop_below_max_epochs() {
        assert_eq!(asha(3, 1, 27).rungs(), [1, 3, 9]);
        assert_eq!(asha(3, 1, 28).rungs(), [1, 3, 9, 27]);
        assert_eq!(asha(2, 2, 16).rungs(), [2, 4, 8]);
        assert_eq!(asha(3, 5, 5).rungs(), Vec::<u32>::new());
        assert_eq!(asha(4, 1, u32::MAX).rungs().len(), 16, "no overflow");
        assert_eq!(asha(3, 1, 27).rung_of(3), Some(1));
        assert_eq!(asha(3, 1, 27).rung_of(4), None);
        assert_eq!(asha(3, 1, 27).rung_of(27), None, "max_epochs is the end, not a rung");
        assert_eq!(asha(3, 1, 27).rung_epoch(2), Some(9));
    }

    #[test]
    fn metrics_read_their_column_and_refuse_what_cannot_rank() {
        let mut values = vec![None; EpochMetrics::METRICS.len()];
        values[0] = Some(0.5);
        let mut epoch = EpochMetrics::from_values(1, 10, &values);
        epoch.test_nll = 0.25;
        assert_eq!(RungMetric::TestNll.of(&epoch), Some(0.25));
        assert_eq!(RungMetric::ValidationNll.of(&epoch), None, "no validation split");
        epoch.validation_nll = Some(f64::NAN);
        assert_eq!(RungMetric::ValidationNll.of(&epoch), None, "a diverged value cannot rank");
        assert_eq!("test_nll".parse(), Ok(RungMetric::TestNll));
        assert!("nll".parse::<RungMetric>().unwrap_err().contains("validation_nll, test_nll"));
        assert!(RungMetric::TestNll.is_optimistic() && !RungMetric::ValidationNll.is_optimistic());
    }
}
