//! What a successive-halving search costs, in epochs trained, against training every
//! configuration to the end: what `plan` shows before a search starts.
//!
//! Synchronous halving (SHA) costs exactly what its rungs say: `n`, then `max(1, floor(n / eta))`
//! of them, and so on. The asynchronous rule keeps the best so far while few are recorded, so
//! its cost depends on the order in which runs reach each rung. A sweep claims configurations in
//! a seeded random order and, one worker after another, each run reaches its rungs before the
//! next one starts: the expectation is that of a seeded simulation of exactly that (arrivals in
//! claim order, qualities a random ranking that holds at every rung), the least and the most are
//! the best and worst orders.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::{Asha, Promotion};

/// Searches the expectation averages over: the first three digits of `plan`'s number stay put.
const SIMULATED_SEARCHES: usize = 2000;
/// Work the simulation may do (runs x runs x searches), so that `plan` stays instant for large
/// searches; at least [`MIN_SEARCHES`] are simulated.
const SIMULATION_WORK: usize = 20_000_000;
const MIN_SEARCHES: usize = 32;
/// The simulation's seed: `plan` prints the same expectation every time.
const SIMULATION_SEED: u64 = 0x5ea2_c4ed;

/// Epochs a search trains, all runs together.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Budget {
    /// Every configuration trained to `max_epochs`: what the grid costs, and the most the
    /// asynchronous rule can cost (when each run reaching a rung beats every run recorded there
    /// before it).
    pub full: u64,
    /// The least: for the asynchronous rule, when runs reach each rung best first (only the
    /// first continues past it); for the synchronous one, what it trains.
    pub least: u64,
    /// What a sweep is expected to train: exact for the synchronous rule, the mean of the
    /// simulated searches for the asynchronous one.
    pub expected: f64,
    /// Whether `expected` is exact (synchronous halving).
    pub exact: bool,
}

impl Asha {
    /// The budget of a search over `configurations` runs.
    pub fn budget(&self, configurations: usize) -> Budget {
        let n = configurations;
        let segments = self.segments();
        let full = n as u64 * u64::from(self.max_epochs);
        if self.promotion == Promotion::Synchronous {
            let mut alive = n as u64;
            let mut trained = 0;
            for (k, segment) in segments.iter().enumerate() {
                if k > 0 {
                    alive = (alive / u64::from(self.reduction_factor.max(2))).max(alive.min(1));
                }
                trained += alive * segment;
            }
            return Budget { full, least: trained, expected: trained as f64, exact: true };
        }
        let least = segments
            .iter()
            .enumerate()
            .map(|(k, s)| s * if k == 0 { n as u64 } else { n.min(1) as u64 })
            .sum();
        let searches = (SIMULATION_WORK / (n * n).max(1)).clamp(MIN_SEARCHES, SIMULATED_SEARCHES);
        let mut rng = ChaCha8Rng::seed_from_u64(SIMULATION_SEED);
        let mut quality: Vec<usize> = (0..n).collect();
        let mut total = 0u64;
        for _ in 0..searches {
            quality.shuffle(&mut rng);
            total += self.asynchronous_epochs(&quality, &segments);
        }
        let expected = if n == 0 { 0.0 } else { total as f64 / searches as f64 };
        Budget { full, least, expected, exact: false }
    }

    /// Epochs between consecutive stops: up to the first rung, between rungs, and to the end.
    fn segments(&self) -> Vec<u64> {
        let mut segments = Vec::new();
        let mut previous = 0;
        for epoch in self.rungs().into_iter().chain(std::iter::once(self.max_epochs)) {
            segments.push(u64::from(epoch - previous));
            previous = epoch;
        }
        segments
    }

    /// The epochs of one asynchronous search whose runs arrive in the order of `quality` (each
    /// run's rank, 0 best, the same at every rung), each through its rungs before the next.
    fn asynchronous_epochs(&self, quality: &[usize], segments: &[u64]) -> u64 {
        let eta = self.reduction_factor.max(2) as usize;
        // Per rung, the qualities recorded there, sorted.
        let mut recorded: Vec<Vec<usize>> = vec![Vec::new(); segments.len() - 1];
        let mut epochs = 0;
        for &q in quality {
            epochs += segments[0];
            for (rung, at) in recorded.iter_mut().enumerate() {
                let better = at.partition_point(|&other| other < q);
                at.insert(better, q);
                if better + 1 > (at.len() / eta).max(1) {
                    break;
                }
                epochs += segments[rung + 1];
            }
        }
        epochs
    }
}

#[cfg(test)]
mod tests {
    use super::super::{RungDecision, RungEntry, asha, rank_at_rung};
    use super::*;

    fn synchronous(eta: u32, grace: u32, max: u32) -> Asha {
        Asha { promotion: Promotion::Synchronous, ..asha(eta, grace, max) }
    }

    #[test]
    fn small_searches_by_hand() {
        // One rung at epoch 1, two runs: the second continues half of the time.
        let b = asha(2, 1, 2).budget(2);
        assert_eq!((b.full, b.least, b.exact), (4, 3, false));
        assert!((b.expected - 3.5).abs() < 0.05, "{b:?}");
        // eta = 3, three runs: 1 + 1/2 + 1/3 continue for two more epochs each.
        let b = asha(3, 1, 3).budget(3);
        assert_eq!((b.full, b.least), (9, 5));
        assert!((b.expected - (3.0 + 2.0 * 11.0 / 6.0)).abs() < 0.1, "{b:?}");
        // No rung (grace reaches max_epochs) and a single run cost the full budget.
        assert_eq!(asha(3, 4, 4).budget(5).expected, 20.0);
        assert_eq!(asha(3, 1, 9).budget(1).expected, 9.0);
        assert_eq!(asha(3, 1, 9).budget(0), Budget { full: 0, least: 0, expected: 0.0, exact: false });
        // The same search, the same number: `plan` prints it every time.
        assert_eq!(asha(3, 1, 27).budget(18), asha(3, 1, 27).budget(18));
    }

    #[test]
    fn synchronous_halving_costs_exactly_its_rungs() {
        // 18 runs, rungs at 1, 3, 9 of 27: 18 x 1 + 6 x 2 + 2 x 6 + 1 x 18.
        let b = synchronous(3, 1, 27).budget(18);
        assert_eq!(b, Budget { full: 486, least: 60, expected: 60.0, exact: true });
        // Fewer than eta at a rung: one goes on; none planned: nothing.
        assert_eq!(synchronous(3, 1, 3).budget(2).least, 2 + 2);
        assert_eq!(synchronous(3, 1, 3).budget(0).least, 0);
    }

    /// The simulated search is the rule itself: for random qualities arriving in claim order,
    /// [`rank_at_rung`] applied run by run trains exactly the epochs the simulation counts, and
    /// the expectation lies between the best and worst orders.
    #[test]
    fn the_simulation_applies_the_rule_in_claim_order() {
        let search = asha(3, 1, 9); // rungs 1 and 3
        let n = 12;
        let hashes: Vec<String> = (0..n).map(|i| format!("{i:02}")).collect();
        let segments = search.segments();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut quality: Vec<usize> = (0..n).collect();
        for _ in 0..200 {
            quality.shuffle(&mut rng);
            let mut recorded: Vec<Vec<RungEntry<'_>>> = vec![Vec::new(); segments.len() - 1];
            let mut epochs = 0;
            for &q in &quality {
                epochs += segments[0];
                for (rung, at) in recorded.iter_mut().enumerate() {
                    let own = RungEntry { config_hash: &hashes[q], value: Some(q as f64) };
                    let decision = rank_at_rung(3, own, at).decision;
                    at.push(own);
                    if decision == RungDecision::Stop {
                        break;
                    }
                    epochs += segments[rung + 1];
                }
            }
            assert_eq!(search.asynchronous_epochs(&quality, &segments), epochs, "{quality:?}");
        }
        let b = search.budget(n);
        assert!(b.expected < b.full as f64 && b.expected > b.least as f64, "{b:?}");
    }
}
