//! Random search: `trials` configurations drawn from the sweep's axes with a seeded generator, so
//! that the same file always gives the same trials. A list (or a range with `num`) is drawn from
//! uniformly, a continuous range (no `num`) uniformly or log-uniformly between its bounds, a zip
//! group as one step; each trial then runs once per seed, the seeds staying replicates.

use std::collections::BTreeSet;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde::Serialize;
use toml::Value;

use super::axis::{Axis, AxisKind, Scale};
use super::expand::{Drawn, MAX_RUNS, build_run, too_many};
use crate::error::{ConfigError, Result};

/// How many configurations a search samples, and from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Trials {
    /// Configurations to draw (each runs once per seed of the `seeds` axis).
    pub count: usize,
    /// Seed of the draws.
    pub seed: u64,
}

/// Draws redone per trial, at most, when a draw repeats an earlier trial.
const REDRAWS: usize = 1000;

/// The trials' runs, trial by trial, each with every seed.
pub(super) fn draw(
    file: &str,
    axes: &[Axis],
    base_table: &toml::Table,
    trials: &Trials,
) -> Result<Vec<Drawn>> {
    let (seeds, drawn): (Vec<&Axis>, Vec<&Axis>) = axes.iter().partition(|a| a.kind == AxisKind::Seeds);
    let replicates = seeds.first().map_or(1, |a| a.steps.len());
    if trials.count.checked_mul(replicates).is_none_or(|n| n > MAX_RUNS) {
        return Err(too_many(file, axes));
    }
    let distinct = drawn
        .iter()
        .try_fold(1usize, |n, a| if a.continuous.is_some() { None } else { n.checked_mul(a.steps.len()) });
    if let Some(distinct) = distinct.filter(|d| *d < trials.count) {
        return Err(ConfigError::InvalidValue {
            origin: file.into(),
            key: "search.trials".into(),
            message: format!(
                "{} trials, but the sweep's lists give only {distinct} distinct configuration{}: ask for fewer, \
                 or use strategy = \"grid\" to train them all",
                trials.count,
                if distinct == 1 { "" } else { "s" }
            ),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(trials.seed);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut runs = Vec::with_capacity(trials.count * replicates);
    for _ in 0..trials.count {
        let mut redraws = 0;
        let picks = loop {
            let picks: Vec<Vec<Value>> = drawn.iter().map(|a| pick(a, &mut rng)).collect();
            if seen.insert(Value::Array(picks.iter().cloned().map(Value::Array).collect()).to_string()) {
                break picks;
            }
            redraws += 1;
            if redraws > REDRAWS {
                return Err(ConfigError::InvalidValue {
                    origin: file.into(),
                    key: "search.trials".into(),
                    message: format!(
                        "{} trials, but draws keep repeating earlier trials: the sweep's ranges are too narrow \
                         for that many distinct configurations",
                        trials.count
                    ),
                });
            }
        };
        let seed_steps: Vec<Option<&Vec<Value>>> = match seeds.first() {
            Some(axis) => axis.steps.iter().map(Some).collect(),
            None => vec![None],
        };
        for step in seed_steps {
            let mut assigned: Vec<(&Axis, &String, Value)> = Vec::new();
            for (axis, values) in drawn.iter().zip(&picks) {
                assigned.extend(axis.keys.iter().zip(values).map(|(k, v)| (*axis, k, v.clone())));
            }
            if let (Some(axis), Some(values)) = (seeds.first(), step) {
                assigned.extend(axis.keys.iter().zip(values).map(|(k, v)| (*axis, k, v.clone())));
            }
            runs.push(build_run(file, runs.len(), base_table, &assigned)?);
        }
    }
    Ok(runs)
}

/// One draw from an axis: a step of a list or zip group, or a value of a continuous range.
fn pick(axis: &Axis, rng: &mut ChaCha8Rng) -> Vec<Value> {
    let u = unit(rng);
    let Some(scale) = axis.continuous else {
        let i = ((u * axis.steps.len() as f64) as usize).min(axis.steps.len() - 1);
        return axis.steps[i].clone();
    };
    let (low, high) = (&axis.steps[0][0], &axis.steps[1][0]);
    let bound = |v: &Value| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)).unwrap_or(f64::NAN);
    let (a, b) = (bound(low), bound(high));
    let value = match (scale, low.is_integer()) {
        // Every whole number from a to b inclusive equally likely.
        (Scale::Linear, true) => {
            Value::Integer((a.min(b) + (u * ((a - b).abs() + 1.0)).floor()).min(a.max(b)) as i64)
        }
        (Scale::Linear, false) => Value::Float(round(a + (b - a) * u)),
        (Scale::Log, integer) => {
            let x = (a.ln() + (b.ln() - a.ln()) * u).exp();
            if integer {
                Value::Integer(x.round().clamp(a.min(b), a.max(b)) as i64)
            } else {
                Value::Float(round(x))
            }
        }
    };
    vec![value]
}

/// A uniform draw from [0, 1): the top 53 bits of the generator's next word. Written out rather
/// than taken from `rand`'s distributions so that the trials of a file never change with a
/// dependency's version.
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Twelve significant digits, as the grid's ranges give: values that read well in plans and
/// reports, and survive a trip through TOML text unchanged.
fn round(x: f64) -> f64 {
    format!("{x:.11e}").parse().unwrap_or(x)
}
