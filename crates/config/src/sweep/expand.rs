//! Expansion of the resolved axes into runs: the cartesian product in file order, first axis
//! slowest, seeds innermost. Every value is checked against the run configuration before any run
//! exists, so a bad value is reported by the key and value the user wrote rather than by run number.

use std::collections::BTreeMap;

use serde::Serialize;
use toml::Value;

use super::axis::{Axis, AxisKind, Entry, Member};
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

/// The runs of a sweep over `base`: every value checked on its own first (so an error names the key
/// and value written), then the product of the axes, each run checked again.
pub(crate) fn expand(
    file: &str,
    entries: Vec<Entry>,
    base: &RunConfig,
) -> Result<(Vec<Axis>, Vec<PlannedRun>, Vec<String>)> {
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
            section: entry.section.clone(),
        };
        if let Some(repeat) =
            axis.steps.iter().enumerate().find_map(|(i, s)| axis.steps[..i].contains(s).then_some(s))
        {
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

    let total = axes.iter().try_fold(1usize, |n, a| n.checked_mul(a.steps.len()).filter(|n| *n <= MAX_RUNS));
    let Some(total) = total else {
        let sizes: Vec<String> = axes.iter().map(|a| format!("{} ({})", a.name(), a.steps.len())).collect();
        return Err(ConfigError::BadSweep {
            file: file.into(),
            section: "sweep".into(),
            key: sizes.join(" x "),
            message: format!("expands to more than {MAX_RUNS} runs"),
        });
    };

    let varying_keys: Vec<String> = axes
        .iter()
        .flat_map(|a| a.keys.iter().enumerate().map(move |(j, k)| (a, j, k)))
        .filter(|(a, j, _)| a.steps.iter().any(|s| s[*j] != a.steps[0][*j]))
        .map(|(_, _, k)| k.clone())
        .collect();

    let mut runs = Vec::with_capacity(total);
    for index in 0..total {
        let mut rest = index;
        let mut picks = vec![0; axes.len()];
        for (i, axis) in axes.iter().enumerate().rev() {
            picks[i] = rest % axis.steps.len();
            rest /= axis.steps.len();
        }
        let mut table = base_table.clone();
        let mut assigned: Vec<(&Axis, &String, &Value)> = Vec::new();
        for (axis, pick) in axes.iter().zip(&picks) {
            for (key, value) in axis.keys.iter().zip(&axis.steps[*pick]) {
                set_path(&mut table, key, value.clone());
                assigned.push((axis, key, value));
            }
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
        let varying: BTreeMap<String, Value> = assigned
            .iter()
            .filter(|(_, k, _)| varying_keys.contains(k))
            .map(|(_, k, v)| ((*k).clone(), (*v).clone()))
            .collect();
        runs.push(PlannedRun { config, varying });
    }
    Ok((axes, runs, varying_keys))
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
