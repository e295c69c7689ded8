//! Which checkpoints a run keeps: `checkpoint.keep_last` and `checkpoint.keep_best` of its
//! configuration, applied by the trainer after each epoch and by `pixelcnn gc` to stored runs.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Checkpoint retention (the `[checkpoint]` section of a run configuration). Each full-size
/// checkpoint is about 10 MB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    /// How many of the most recent epoch checkpoints to keep (at least 1, needed to resume).
    pub keep_last: usize,
    /// Also keep the checkpoint of the best epoch (see [`crate::best_epoch`]).
    pub keep_best: bool,
}

impl Default for Retention {
    fn default() -> Self {
        Self { keep_last: 1, keep_best: true }
    }
}

impl Retention {
    /// The epochs, among those that have a checkpoint, whose checkpoints are kept: the
    /// `keep_last` latest and, with `keep_best`, the `best` epoch's.
    pub fn kept(&self, checkpoints: &BTreeSet<u32>, best: Option<u32>) -> BTreeSet<u32> {
        let mut kept: BTreeSet<u32> = checkpoints.iter().rev().take(self.keep_last).copied().collect();
        if let Some(best) = best.filter(|b| self.keep_best && checkpoints.contains(b)) {
            kept.insert(best);
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_and_the_best() {
        let all: BTreeSet<u32> = (1..=6).collect();
        let r = |keep_last, keep_best| Retention { keep_last, keep_best };
        assert_eq!(r(2, true).kept(&all, Some(3)), [3, 5, 6].into());
        assert_eq!(r(2, false).kept(&all, Some(3)), [5, 6].into());
        assert_eq!(r(1, true).kept(&all, Some(6)), [6].into());
        assert_eq!(r(10, true).kept(&all, None), all);
        // A best epoch whose checkpoint is already gone is not brought back.
        assert_eq!(r(1, true).kept(&[5, 6].into(), Some(2)), [6].into());
    }

    #[test]
    fn missing_keys_take_the_defaults_and_unknown_keys_are_refused() {
        let partial: Retention = serde_json::from_str(r#"{"keep_last": 3}"#).unwrap();
        assert_eq!(partial, Retention { keep_last: 3, keep_best: true });
        assert!(serde_json::from_str::<Retention>(r#"{"keep": 3}"#).is_err());
        assert!(serde_json::from_str::<Retention>(r#"{"keep_last": "all"}"#).is_err());
    }
}
