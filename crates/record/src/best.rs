//! The best epoch of a run: the one rule that checkpoint retention, `gc` and the report share.

use serde::Serialize;

use crate::metrics::EpochMetrics;

/// How the best epoch of a run was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BestBy {
    /// Lowest validation NLL (the run held out a validation split).
    Validation,
    /// Lowest test NLL, because the run had no validation split: optimistic, labelled as such.
    TestSet,
}

/// The best epoch and how it was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Best {
    /// Its epoch number.
    pub epoch: u32,
    /// Which NLL chose it.
    pub by: BestBy,
}

/// The epoch with the lowest validation NLL when any epoch recorded one, else the lowest test NLL;
/// non-finite values never win and the earlier epoch wins a tie. `None` when no epoch qualifies.
pub fn best_epoch<'a>(epochs: impl IntoIterator<Item = &'a EpochMetrics>) -> Option<Best> {
    let epochs: Vec<&EpochMetrics> = epochs.into_iter().collect();
    let lowest = |value: fn(&EpochMetrics) -> Option<f64>| {
        epochs
            .iter()
            .filter_map(|e| value(e).filter(|v| v.is_finite()).map(|v| (e.epoch, v)))
            // `min_by` returns the first of equal elements: the earlier epoch.
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(epoch, _)| epoch)
    };
    lowest(|e| e.validation_nll)
        .map(|epoch| Best { epoch, by: BestBy::Validation })
        .or_else(|| lowest(|e| Some(e.test_nll)).map(|epoch| Best { epoch, by: BestBy::TestSet }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(epoch: u32, test_nll: f64, validation_nll: Option<f64>) -> EpochMetrics {
        let mut values = vec![None; EpochMetrics::METRICS.len()];
        values[0] = Some(0.0);
        let mut m = EpochMetrics::from_values(epoch, u64::from(epoch), &values);
        m.test_nll = test_nll;
        m.validation_nll = validation_nll;
        m
    }

    #[test]
    fn validation_decides_when_recorded_else_the_test_set() {
        let with_split = [epoch(1, 0.5, Some(0.9)), epoch(2, 0.4, Some(0.8)), epoch(3, 0.3, Some(0.85))];
        assert_eq!(best_epoch(&with_split), Some(Best { epoch: 2, by: BestBy::Validation }));
        let without = [epoch(1, 0.5, None), epoch(2, 0.4, None), epoch(3, 0.45, None)];
        assert_eq!(best_epoch(&without), Some(Best { epoch: 2, by: BestBy::TestSet }));
        assert_eq!(best_epoch(&[]), None);
    }

    #[test]
    fn ties_go_to_the_earlier_epoch_and_nan_never_wins() {
        let tied = [epoch(1, f64::NAN, None), epoch(2, 0.4, None), epoch(3, 0.4, None)];
        assert_eq!(best_epoch(&tied).map(|b| b.epoch), Some(2));
        assert_eq!(best_epoch(&[epoch(1, f64::NAN, None)]), None);
    }
}
