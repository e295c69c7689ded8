//! What an ASHA search costs, in epochs trained, against training every configuration to the end:
//! what `plan` shows before a search starts. The cost depends on the order in which runs reach
//! each rung (the rule keeps the best so far while few are recorded), so it is given as a range
//! and an expectation.

use serde::Serialize;

use super::Asha;

/// Epochs a search trains, all runs together.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Budget {
    /// Every configuration trained to `max_epochs`: what the grid costs, and the most ASHA can
    /// cost (when each run reaching a rung beats every run recorded there before it).
    pub full: u64,
    /// The least: when runs reach each rung best first, only the first continues past it.
    pub least: u64,
    /// The expectation when the order in which runs reach a rung says nothing about how good
    /// they are (each arrival's rank among those before it is then uniform and independent).
    pub expected: f64,
}

impl Asha {
    /// The budget of a search over `configurations` runs.
    pub fn budget(&self, configurations: usize) -> Budget {
        let n = configurations;
        let rungs = self.rungs();
        // Epochs between consecutive stops: up to the first rung, between rungs, and to the end.
        let mut segments: Vec<u64> = Vec::with_capacity(rungs.len() + 1);
        let mut previous = 0;
        for &epoch in rungs.iter().chain(std::iter::once(&self.max_epochs)) {
            segments.push(u64::from(epoch - previous));
            previous = epoch;
        }
        let full = n as u64 * u64::from(self.max_epochs);
        let least = segments
            .iter()
            .enumerate()
            .map(|(k, s)| s * if k == 0 { n as u64 } else { n.min(1) as u64 })
            .sum();
        // The distribution of how many runs reach each segment, rung by rung.
        let mut reaching = vec![0.0; n + 1];
        reaching[n] = 1.0;
        let mut expected = 0.0;
        for (k, segment) in segments.iter().enumerate() {
            let mean: f64 = reaching.iter().enumerate().map(|(m, p)| m as f64 * p).sum();
            expected += mean * *segment as f64;
            if k < rungs.len() {
                reaching = self.promoted(&reaching);
            }
        }
        Budget { full, least, expected }
    }

    /// The distribution of the number of runs that continue past a rung, given that of the number
    /// that reach it. The i-th arrival continues with probability `max(1, floor(i / eta)) / i`,
    /// independently of the others, so the count is a sum of independent Bernoulli variables,
    /// built up one arrival at a time.
    fn promoted(&self, reaching: &[f64]) -> Vec<f64> {
        let eta = self.reduction_factor.max(2) as usize;
        let top = reaching.iter().rposition(|p| *p > 0.0).unwrap_or(0);
        let mut out = vec![0.0; reaching.len()];
        out[0] = reaching[0];
        let mut count = vec![1.0];
        for (i, &arrived) in reaching.iter().enumerate().take(top + 1).skip(1) {
            let p = (i / eta).max(1) as f64 / i as f64;
            let mut next = vec![0.0; count.len() + 1];
            for (j, q) in count.iter().enumerate() {
                next[j] += q * (1.0 - p);
                next[j + 1] += q * p;
            }
            count = next;
            if arrived > 0.0 {
                for (j, q) in count.iter().enumerate() {
                    out[j] += arrived * q;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::{RungEntry, asha, rank_at_rung};
    use super::*;

    #[test]
    fn small_searches_by_hand() {
        // One rung at epoch 1, two runs: the second continues half of the time.
        assert_eq!(asha(2, 1, 2).budget(2), Budget { full: 4, least: 3, expected: 3.5 });
        // eta = 3, three runs: 1 + 1/2 + 1/3 continue for two more epochs each.
        let b = asha(3, 1, 3).budget(3);
        assert_eq!((b.full, b.least), (9, 5));
        assert!((b.expected - (3.0 + 2.0 * 11.0 / 6.0)).abs() < 1e-12, "{b:?}");
        // No rung (grace reaches max_epochs) and a single run cost the full budget.
        assert_eq!(asha(3, 4, 4).budget(5), Budget { full: 20, least: 20, expected: 20.0 });
        assert_eq!(asha(3, 1, 9).budget(1), Budget { full: 9, least: 9, expected: 9.0 });
        assert_eq!(asha(3, 1, 9).budget(0), Budget { full: 0, least: 0, expected: 0.0 });
    }

    /// The expectation agrees with the rule itself, applied to random arrival orders.
    #[test]
    fn the_expectation_matches_the_rule_on_random_orders() {
        let search = asha(3, 1, 9); // rungs 1 and 3
        let n = 12;
        let hashes: Vec<String> = (0..n).map(|i| format!("{i:02}")).collect();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let trials = 20_000;
        let mut total = 0u64;
        for _ in 0..trials {
            // A run's quality is fixed; the order in which it reaches each rung is random.
            let quality: Vec<f64> = (0..n).map(|_| (next() >> 11) as f64).collect();
            let mut alive: Vec<usize> = (0..n).collect();
            let mut previous = 0;
            for &epoch in &search.rungs() {
                total += alive.len() as u64 * u64::from(epoch - previous);
                previous = epoch;
                for i in (1..alive.len()).rev() {
                    alive.swap(i, (next() % (i as u64 + 1)) as usize);
                }
                let mut recorded: Vec<RungEntry<'_>> = Vec::new();
                let mut survivors = Vec::new();
                for &run in &alive {
                    let own = RungEntry { config_hash: &hashes[run], value: Some(quality[run]) };
                    if rank_at_rung(3, own, &recorded).decision == super::super::RungDecision::Continue {
                        survivors.push(run);
                    }
                    recorded.push(own);
                }
                alive = survivors;
            }
            total += alive.len() as u64 * u64::from(search.max_epochs - previous);
        }
        let simulated = total as f64 / trials as f64;
        let expected = search.budget(n).expected;
        assert!((simulated - expected).abs() / expected < 0.01, "simulated {simulated}, computed {expected}");
        assert!(expected < search.budget(n).full as f64 && expected > search.budget(n).least as f64);
    }
}
