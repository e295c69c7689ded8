//! The rung rules: whether a run that reached a rung continues, given what the runs recorded there
//! before it scored (asynchronous, [`rank_at_rung`]), or which of all the runs of a rung continue
//! (synchronous, [`rank_all_at_rung`]).
//!
//! A run reaching a rung is ranked among the `n` runs recorded at that rung so far, itself
//! included (one entry per configuration: another attempt of the same configuration does not
//! count against it). It continues iff its rank is at most `max(1, floor(n / eta))`:
//!
//! - from `eta` runs on, that is asynchronous successive halving's "top `1/eta` of the rung";
//! - below `eta` runs, `floor(n / eta)` is 0 and the asynchronous rule keeps one: a run continues
//!   while it is the best recorded at the rung (the first to arrive always continues, there is
//!   nothing to compare it with), and stops once one recorded before it was better;
//! - a run whose metric is missing or not finite stops, whatever its rank;
//! - ties: lower values rank first; equal values rank by configuration hash (byte order), so a
//!   tie is broken the same way on every machine and in every arrival order.
//!
//! Decisions are never revisited: a late arrival is ranked against everything recorded before
//! it, which may let it continue where an earlier, equally good run stopped. That is the price of
//! deciding without waiting (Li et al. 2018, section 3.3).

use std::cmp::Ordering;

use serde::Serialize;

crate::named_enum! {
    /// What a rung decided for a run.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum RungDecision ("rung decision") {
        /// The run trains on to the next rung (or to the end).
        Continue = "continue",
        /// The run stops here: it is `pruned`.
        Stop = "stop",
    }
}

/// One configuration's score at a rung.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RungEntry<'a> {
    /// Its configuration hash: the tie-break.
    pub config_hash: &'a str,
    /// Its metric at the rung; `None` when missing or not finite.
    pub value: Option<f64>,
}

impl RungEntry<'_> {
    /// Ranking order: finite values ascending, then missing ones; ties by configuration hash.
    fn order(&self, other: &RungEntry<'_>) -> Ordering {
        let value = |e: &RungEntry<'_>| e.value.filter(|v| v.is_finite());
        match (value(self), value(other)) {
            (Some(a), Some(b)) => a.total_cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
        .then_with(|| self.config_hash.cmp(other.config_hash))
    }
}

/// A decision with the numbers behind it, as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RungRanking {
    /// The run's rank at the rung when it arrived (1 is best).
    pub rank: u32,
    /// Configurations recorded at the rung then, itself included (`n`).
    pub recorded: u32,
    /// How many of them continue: `max(1, floor(n / eta))`.
    pub quota: u32,
    /// Whether the run continues.
    pub decision: RungDecision,
}

/// Decides for `own`, arriving at a rung where `earlier` were recorded before it (entries of its
/// own configuration are ignored), with reduction factor `eta`. See the module documentation for
/// the rule.
pub fn rank_at_rung(eta: u32, own: RungEntry<'_>, earlier: &[RungEntry<'_>]) -> RungRanking {
    let others: Vec<&RungEntry<'_>> = earlier.iter().filter(|e| e.config_hash != own.config_hash).collect();
    let recorded = others.len() as u32 + 1;
    let rank = 1 + others.iter().filter(|e| e.order(&own) == Ordering::Less).count() as u32;
    let quota = (recorded / eta.max(2)).max(1);
    let finite = own.value.is_some_and(f64::is_finite);
    let decision = if finite && rank <= quota { RungDecision::Continue } else { RungDecision::Stop };
    RungRanking { rank, recorded, quota, decision }
}

/// Decides a synchronous rung at once for `entries`, every configuration still in the search
/// (one entry each): ranked together in [`RungEntry`] order, the top `max(1, floor(n / eta))`
/// with a finite metric continue, the rest stop. The same entries in any order give the same
/// decisions, which is what lets a restarted or concurrent search decide the same.
pub fn rank_all_at_rung(eta: u32, entries: &[RungEntry<'_>]) -> Vec<RungRanking> {
    let recorded = entries.len() as u32;
    let quota = (recorded / eta.max(2)).max(1);
    entries
        .iter()
        .map(|own| {
            let rank = 1 + entries.iter().filter(|e| e.order(own) == Ordering::Less).count() as u32;
            let finite = own.value.is_some_and(f64::is_finite);
            let decision = if finite && rank <= quota { RungDecision::Continue } else { RungDecision::Stop };
            RungRanking { rank, recorded, quota, decision }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use RungDecision::{Continue, Stop};

    #[test]
    fn a_synchronous_rung_keeps_exactly_the_top_third_in_any_order() {
        let entries = [
            entry("a", 0.5),
            entry("b", 0.4),
            RungEntry { config_hash: "c", value: None },
            entry("d", 0.2),
            entry("e", 0.6),
            entry("f", 0.3),
        ];
        let decided = rank_all_at_rung(3, &entries);
        let kept: Vec<&str> = entries
            .iter()
            .zip(&decided)
            .filter(|(_, r)| r.decision == Continue)
            .map(|(e, _)| e.config_hash)
            .collect();
        assert_eq!(kept, ["d", "f"], "6 runs, eta 3: the two best");
        assert!(decided.iter().all(|r| r.recorded == 6 && r.quota == 2));
        assert_eq!(decided[2].rank, 6, "a missing value ranks last");
        let mut reversed = entries;
        reversed.reverse();
        let again = rank_all_at_rung(3, &reversed);
        assert_eq!(again.iter().rev().copied().collect::<Vec<_>>(), decided, "order does not matter");
        // Fewer runs than eta: the best one continues; one run with no value: none does.
        assert_eq!(rank_all_at_rung(3, &entries[..2]).iter().filter(|r| r.decision == Continue).count(), 1);
        assert_eq!(rank_all_at_rung(3, &entries[2..3])[0].decision, Stop);
    }

    fn entry(config_hash: &str, value: f64) -> RungEntry<'_> {
        RungEntry { config_hash, value: Some(value) }
    }

    /// Decides for each of `arrivals` in order against those before it, as one worker would.
    fn in_order(eta: u32, arrivals: &[RungEntry<'_>]) -> Vec<RungDecision> {
        (0..arrivals.len()).map(|i| rank_at_rung(eta, arrivals[i], &arrivals[..i]).decision).collect()
    }

    #[test]
    fn top_floor_n_over_eta_continue_once_eta_runs_are_recorded() {
        let earlier = [entry("a", 0.5), entry("b", 0.4), entry("c", 0.3), entry("d", 0.2), entry("e", 0.6)];
        // n = 6, eta = 3: the best two continue.
        let second = rank_at_rung(3, entry("f", 0.35), &earlier);
        assert_eq!(second, RungRanking { rank: 3, recorded: 6, quota: 2, decision: Stop });
        let best = rank_at_rung(3, entry("f", 0.1), &earlier);
        assert_eq!(best, RungRanking { rank: 1, recorded: 6, quota: 2, decision: Continue });
        assert_eq!(rank_at_rung(3, entry("f", 0.25), &earlier).decision, Continue, "rank 2 of 6");
        // n = 9, eta = 3: three continue.
        let nine: Vec<RungEntry<'_>> = ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(1..)
            .map(|(h, i)| entry(h, i as f64))
            .collect();
        assert_eq!(rank_at_rung(3, entry("z", 2.5), &nine).quota, 3);
        assert_eq!(rank_at_rung(3, entry("z", 2.5), &nine).decision, Continue);
        assert_eq!(rank_at_rung(3, entry("z", 3.5), &nine).decision, Stop);
    }

    #[test]
    fn fewer_runs_than_eta_keep_only_the_best_so_far() {
        // The first arrival continues; later ones only while they beat everything before them.
        let arrivals = [entry("a", 0.5), entry("b", 0.6), entry("c", 0.4)];
        assert_eq!(in_order(3, &arrivals), [Continue, Stop, Continue]);
        assert_eq!(rank_at_rung(3, arrivals[1], &arrivals[..1]).quota, 1);
        // Best first: every later one stops until the quota grows (n = 6 with eta = 3).
        let best_first = [
            entry("a", 0.1),
            entry("b", 0.2),
            entry("c", 0.3),
            entry("d", 0.4),
            entry("e", 0.5),
            entry("f", 0.15),
        ];
        assert_eq!(in_order(3, &best_first), [Continue, Stop, Stop, Stop, Stop, Continue]);
        // Worst first: each arrival beats all before it and continues.
        let worst_first = [entry("a", 0.5), entry("b", 0.4), entry("c", 0.3), entry("d", 0.2)];
        assert_eq!(in_order(3, &worst_first), [Continue; 4]);
    }

    #[test]
    fn ties_rank_by_configuration_hash_in_any_arrival_order() {
        let (low, high) = (entry("0a", 0.5), entry("ff", 0.5));
        assert_eq!(rank_at_rung(2, high, &[low]).rank, 2);
        assert_eq!(rank_at_rung(2, low, &[high]).rank, 1);
        assert_eq!(rank_at_rung(2, high, &[low]).decision, Stop);
        assert_eq!(rank_at_rung(2, low, &[high]).decision, Continue);
    }

    #[test]
    fn late_arrivals_are_ranked_against_everything_recorded_before_them() {
        // Four runs recorded with eta = 2; a fifth arrives later. n = 5: the best two continue.
        let recorded = [entry("a", 0.4), entry("b", 0.3), entry("c", 0.5), entry("d", 0.6)];
        let late = rank_at_rung(2, entry("e", 0.35), &recorded);
        assert_eq!(late, RungRanking { rank: 2, recorded: 5, quota: 2, decision: Continue });
        // `a` (0.4) would now rank third, but its earlier decision stands: decisions are made
        // once, at arrival; this is what the caller records and never recomputes.
        assert_eq!(rank_at_rung(2, entry("e", 0.45), &recorded).decision, Stop);
    }

    #[test]
    fn missing_or_diverged_values_stop_and_rank_last() {
        let nan = RungEntry { config_hash: "n", value: Some(f64::NAN) };
        let missing = RungEntry { config_hash: "m", value: None };
        assert_eq!(rank_at_rung(3, nan, &[]).decision, Stop, "even the first arrival");
        assert_eq!(rank_at_rung(3, missing, &[]).decision, Stop);
        let after = rank_at_rung(3, entry("z", 9.0), &[nan, missing]);
        assert_eq!((after.rank, after.decision), (1, Continue));
    }

    #[test]
    fn other_attempts_of_the_same_configuration_do_not_count() {
        let earlier = [entry("a", 0.1), entry("b", 0.2)];
        let retry = rank_at_rung(3, entry("a", 0.3), &earlier);
        assert_eq!((retry.rank, retry.recorded), (2, 2));
        assert_eq!("stop".parse(), Ok(Stop));
        assert!("halt".parse::<RungDecision>().is_err());
    }
}
