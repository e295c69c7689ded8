//! Expansion of the resolved axes into runs: the cartesian product in file order, first axis
//! slowest, seeds innermost, or the trials a search samples from the axes (`sample.rs`). Every
//! value is checked against the run configuration before any run exists, so a bad value is
//! reported by the key and value the user wrote rather than by run number.

use std::collections::BTreeMap;

use serde::Serialize;
use toml::Value;

use super::axis::{Axis, AxisKind, Entry, Member};
use super::sample::{self, Trials};
use crate::dotted_keys::{get_path, set_path};
use crate::error::{ConfigError, Result};
use crate::run::RunConfig;
use crate::validate;

/// The most runs one sweep may expand to: a guard against a mistyped range, not a real limit on
/// what a lab runs.
pub const MAX_RUNS: usize = 10_000;

/// One run of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRun {
    /// The run's full, validated configuration.
    pub config: RunConfig,
    /// The values of the keys that vary across the experiment's runs (seed included), to label the
    /// run in plans, tables and reports.
    pub varying: BTreeMap<String, Value>,
}

/// Rejects a zip group whose members have different lengths.
pub(crate) fn check_zip_lengths(file: &str, entries: &[Entry]) -> Result<()> {
    for entry in entries {
        if let AxisKind::Zip(group) = &entry.kind {
            let lengths: Vec<(String, usize)> =
                entry.members.iter().map(|m| (m.key.clone(), m.values.len())).collect();
            if lengths.iter().any(|(_, n)| *n != lengths[0].1) {
                return Err(ConfigError::ZipLengths {
                    file: file.into(),
                    section: entry.section.clone(),
                    group: group.clone(),
                    lengths,
                });
            }
        }
    }
    Ok(())
}

/// What a sweep expands to.
pub(crate) struct Expanded {
    /// The axes after the layers, seeds last.
    pub axes: Vec<Axis>,
    /// Every run, in order.
    pub runs: Vec<PlannedRun>,
    /// Keys whose values differ between runs, in axis order.
    pub varying_keys: Vec<String>,
    /// How many runs the full grid of the axes has (saturating); `None` when an axis is a
    /// continuous range, which has no grid.
    pub grid_runs: Option<usize>,
}

/// The runs of a sweep over `base`: every value checked on its own first (so an error names the key
/// and value written), then the product of the axes, or `trials` sampled from them, each run
/// checked again.
pub(crate) fn expand(
    file: &str,
    entries: Vec<Entry>,
    base: &RunConfig,
    trials: Option<&Trials>,
) -> Result<Expanded> {
    let base_table = toml::Table::try_from(base).expect("a run configuration serialises");
    let mut axes = Vec::new();
    for entry in entries {
        // A zip group's values are checked step by step, together: they only ever run together
        // (`model.condition = "label"` is valid beside `model.family = "gated"`, not alone).
        let len = entry.members.first().map_or(0, |m| m.values.len());
        let steps: Vec<Vec<Value>> = (0..len)
            .map(|i| {
                let step: Vec<(&Member, &Value)> = entry.members.iter().map(|m| (m, &m.values[i])).collect();
                check_step(file, &step, &base_table)
            })
            .collect::<Result<_>>()?;
        let axis = Axis {
            kind: entry.kind.clone(),
            keys: entry.members.iter().map(|m| m.key.clone()).collect(),
            steps,
            continuous: entry.members.iter().find_map(|m| m.continuous),
            section: entry.section.clone(),
        };
        let repeated =
            axis.steps.iter().enumerate().find_map(|(i, s)| axis.steps[..i].contains(s).then_some(s));
        if let Some(repeat) = repeated.filter(|_| axis.continuous.is_none()) {
            let shown = if repeat.len() == 1 {
                repeat[0].to_string()
            } else {
                Value::Array(repeat.clone()).to_string()
            };
            return Err(ConfigError::BadSweep {
                file: file.into(),
                section: axis.section.clone(),
                key: axis.name(),
                message: format!("{shown} appears more than once; every run of a sweep must differ"),
            });
        }
        axes.push(axis);
    }
    // Seeds are the innermost axis wherever they were written.
    axes.sort_by_key(|a| a.kind == AxisKind::Seeds);
    let grid_runs = axes
        .iter()
        .all(|a| a.continuous.is_none())
        .then(|| axes.iter().fold(1usize, |n, a| n.saturating_mul(a.steps.len())));
    let runs = match trials {
        Some(trials) => sample::draw(file, &axes, &base_table, trials)?,
        None => grid(file, &axes, &base_table)?,
    };
    let varying_keys = varying_keys(&axes, &runs);
    let runs = runs
        .into_iter()
        .map(|(config, assigned)| {
            let varying = assigned.into_iter().filter(|(k, _)| varying_keys.contains(k)).collect();
            PlannedRun { config, varying }
        })
        .collect();
    Ok(Expanded { axes, runs, varying_keys, grid_runs })
}

/// A run before its varying keys are known: its configuration and the value of every swept key.
pub(super) type Drawn = (RunConfig, BTreeMap<String, Value>);

/// The cartesian product of the axes, first axis slowest.
fn grid(file: &str, axes: &[Axis], base_table: &toml::Table) -> Result<Vec<Drawn>> {
    if let Some(axis) = axes.iter().find(|a| a.continuous.is_some()) {
        return Err(ConfigError::BadSweep {
            file: file.into(),
            section: axis.section.clone(),
            key: axis.name(),
            message: "a range needs num = N, how many values to take; without num it is continuous, \
                      which only a search sampling trials can draw from ([search] trials = N)"
                .into(),
        });
    }
    let total = axes.iter().try_fold(1usize, |n, a| n.checked_mul(a.steps.len()).filter(|n| *n <= MAX_RUNS));
    let Some(total) = total else { return Err(too_many(file, axes)) };
    let mut runs = Vec::with_capacity(total);
    for index in 0..total {
        let mut rest = index;
        let mut picks = vec![0; axes.len()];
        for (i, axis) in axes.iter().enumerate().rev() {
            picks[i] = rest % axis.steps.len();
            rest /= axis.steps.len();
        }
        let assigned: Vec<(&Axis, &String, Value)> = axes
            .iter()
            .zip(&picks)
            .flat_map(|(axis, pick)| {
                axis.keys.iter().zip(&axis.steps[*pick]).map(move |(key, value)| (axis, key, value.clone()))
            })
            .collect();
        runs.push(build_run(file, index, base_table, &assigned)?);
    }
    Ok(runs)
}

/// The error for a sweep over [`MAX_RUNS`] runs, naming the axes and their sizes.
pub(super) fn too_many(file: &str, axes: &[Axis]) -> ConfigError {
    let sizes: Vec<String> = axes.iter().map(|a| format!("{} ({})", a.name(), a.steps.len())).collect();
    ConfigError::BadSweep {
        file: file.into(),
        section: "sweep".into(),
        key: sizes.join(" x "),
        message: format!("expands to more than {MAX_RUNS} runs"),
    }
}

/// One run: `base_table` with the `assigned` (axis, key, value) set, checked; an invalid value is
/// reported by the key and value the file swept.
pub(super) fn build_run(
    file: &str,
    index: usize,
    base_table: &toml::Table,
    assigned: &[(&Axis, &String, Value)],
) -> Result<Drawn> {
    let mut table = base_table.clone();
    for (_, key, value) in assigned {
        set_path(&mut table, key, value.clone());
    }
    let config: RunConfig =
        Value::Table(table).try_into().map_err(|e: toml::de::Error| ConfigError::InvalidValue {
            origin: format!("{file} [sweep] run {}", index + 1),
            key: String::new(),
            message: e.message().to_owned(),
        })?;
    if let Some(v) = validate::violations(&config).into_iter().next() {
        return Err(match assigned.iter().find(|(_, k, _)| k.as_str() == v.key) {
            Some((axis, key, value)) => ConfigError::SweepValue {
                file: file.into(),
                section: axis.section.clone(),
                key: (*key).clone(),
                value: value.to_string(),
                message: v.message,
            },
            None => ConfigError::InvalidValue {
                origin: format!("{file} [sweep] run {}", index + 1),
                key: v.key.into(),
                message: v.message,
            },
        });
    }
    let swept = assigned.iter().map(|(_, k, v)| ((*k).clone(), v.clone())).collect();
    Ok((config, swept))
}

/// The swept keys whose values differ between runs, in axis order.
fn varying_keys(axes: &[Axis], runs: &[Drawn]) -> Vec<String> {
    axes.iter()
        .flat_map(|a| a.keys.iter())
        .filter(|k| runs.iter().any(|(_, swept)| swept.get(*k) != runs[0].1.get(*k)))
        .cloned()
        .collect()
}

/// Checks one step of an axis (one value of each of its keys) on top of the resolved base and
/// returns the values as the configuration holds them (so `1` for a float key reads `1.0`). A
/// type error names the value that has it; a range error the value of the key it concerns, else
/// the first one's.
fn check_step(file: &str, step: &[(&Member, &Value)], base: &toml::Table) -> Result<Vec<Value>> {
    let error = |(member, value): (&Member, &Value), message: String| ConfigError::SweepValue {
        file: file.into(),
        section: member.section.clone(),
        key: member.key.clone(),
        value: value.to_string(),
        message,
    };
    let parse = |pairs: &[(&Member, &Value)]| {
        let mut table = base.clone();
        for (member, value) in pairs {
            set_path(&mut table, &member.key, (*value).clone());
        }
        Value::Table(table).try_into::<RunConfig>()
    };
    for &pair in step {
        parse(&[pair]).map_err(|e| error(pair, e.message().to_owned()))?;
    }
    let config = parse(step).map_err(|e| error(step[0], e.message().to_owned()))?;
    if let Some(v) = validate::violations(&config).into_iter().next() {
        return Err(match step.iter().find(|(member, _)| member.key == v.key) {
            Some(&pair) => error(pair, v.message),
            None => error(step[0], format!("makes `{}` invalid: {}", v.key, v.message)),
        });
    }
    let resolved = toml::Table::try_from(&config).expect("a run configuration serialises");
    Ok(step
        .iter()
        .map(|(member, value)| get_path(&resolved, &member.key).cloned().unwrap_or_else(|| (*value).clone()))
        .collect())
}
