//! Configurations of an experiment: its runs grouped by their configuration's identity without the
//! seed (what `config_hash` covers: every key that changes the numbers, and the data's checksums),
//! and the keys whose values differ between runs. Swept values alone would merge runs of another
//! profile or of an edited file into one row.

use std::collections::{BTreeMap, BTreeSet};

use pixelcnn_config::{ADDED_KEYS, Condition, Levels, ModelFamily, identity_of};
use serde_json::Value;

use crate::load::RunData;

/// One configuration: the runs that differ only by their seed (plus reruns of them).
#[derive(Clone, Debug, PartialEq)]
pub struct Configuration {
    /// Position in the experiment, from 1 (used in file names: never a user string).
    pub number: usize,
    /// What tells it apart: its swept values (`model.levels = 2`), and where another
    /// configuration has the same ones, what differs (its profile, else the differing keys).
    pub label: String,
    /// The swept keys other than the seed and their values.
    pub varying: BTreeMap<String, Value>,
    /// What differs from configurations with the same swept values (`profile big`,
    /// `model.hidden = 32`), empty when no other has them.
    pub variant: String,
    /// Indexes of its runs in the experiment's run list, oldest first.
    pub runs: Vec<usize>,
    /// Its number of levels `q`.
    pub levels: Levels,
    /// Its model family.
    pub family: ModelFamily,
    /// What its model is conditioned on.
    pub condition: Condition,
}

impl Configuration {
    /// Whether its model is conditioned on the digit's class (its pictures have one row per
    /// class, its NLL is `-log p(x | class)`).
    pub fn conditional(&self) -> bool {
        self.condition.classes().is_some()
    }
}

/// What makes two runs one configuration: their identity (as `config_hash` computes it, from
/// the stored configuration, so runs recorded before a key existed group as they hash) without
/// the seed, and the checksums of the data they read.
fn identity_without_seed(run: &RunData) -> Value {
    let mut identity = identity_of(run.detail.run.config.clone(), ADDED_KEYS);
    if let Value::Object(map) = &mut identity {
        map.remove("seed");
    }
    let data = run.detail.run.versions.get("data_sha256").cloned().unwrap_or(Value::Null);
    serde_json::json!({ "config": identity, "data": data })
}

fn swept_values(run: &RunData) -> BTreeMap<String, Value> {
    let mut varying: BTreeMap<String, Value> = match &run.detail.run.varying {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => BTreeMap::new(),
    };
    varying.remove("seed");
    varying
}

/// Groups runs by their identity without the seed, in order of first appearance, and labels
/// each group so that no two read alike.
pub fn group(runs: &[RunData]) -> Vec<Configuration> {
    let mut identities: Vec<Value> = Vec::new();
    let mut groups: Vec<Configuration> = Vec::new();
    for (index, run) in runs.iter().enumerate() {
        let identity = identity_without_seed(run);
        match identities.iter().position(|i| *i == identity) {
            Some(g) => groups[g].runs.push(index),
            None => {
                identities.push(identity);
                groups.push(Configuration {
                    number: groups.len() + 1,
                    label: String::new(),
                    varying: swept_values(run),
                    variant: String::new(),
                    runs: vec![index],
                    levels: run.levels(),
                    family: run.family(),
                    condition: run.condition(),
                });
            }
        }
    }
    name_variants(&mut groups, &identities, runs);
    for g in &mut groups {
        g.label = label(&g.varying, &g.variant);
    }
    groups
}

/// Gives each configuration that shares its swept values with another what tells them apart:
/// the profile of its sweeps where each has one profile and they differ, else the keys of the
/// identity that differ between them.
fn name_variants(groups: &mut [Configuration], identities: &[Value], runs: &[RunData]) {
    let mut alike: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (g, config) in groups.iter().enumerate() {
        alike
            .entry(Value::from(serde_json::Map::from_iter(config.varying.clone())).to_string())
            .or_default()
            .push(g);
    }
    for members in alike.values().filter(|m| m.len() > 1) {
        let profiles: Vec<BTreeSet<Option<&str>>> = members
            .iter()
            .map(|&g| groups[g].runs.iter().map(|&r| runs[r].profile.as_deref()).collect())
            .collect();
        let single: Vec<Option<&str>> =
            profiles.iter().filter(|p| p.len() == 1).filter_map(|p| p.first().copied()).collect();
        let distinct: BTreeSet<Option<&str>> = single.iter().copied().collect();
        if single.len() == members.len() && distinct.len() == members.len() {
            for (&g, profile) in members.iter().zip(single) {
                groups[g].variant = profile.map_or_else(|| "no profile".into(), |p| format!("profile {p}"));
            }
            continue;
        }
        let keys = differing_keys(members.iter().map(|&g| &identities[g]));
        for &g in members {
            let flat = flatten(&identities[g]);
            // Identity keys read `config.model.hidden`; the data's are checksums per file.
            let parts: BTreeSet<String> = keys
                .iter()
                .map(|k| match (k.strip_prefix("config."), flat.get(k)) {
                    (Some(key), Some(v)) => format!("{key} = {}", display(v)),
                    (Some(key), None) => format!("{key} unset"),
                    (None, v) => {
                        let sum = v.map(display).unwrap_or_default();
                        format!("data {}", &sum[..sum.len().min(8)])
                    }
                })
                .collect();
            let parts: Vec<String> = parts.into_iter().collect();
            groups[g].variant = parts.join(", ");
        }
    }
}

fn label(varying: &BTreeMap<String, Value>, variant: &str) -> String {
    let swept = varying.iter().map(|(k, v)| format!("{k} = {}", display(v))).collect::<Vec<_>>().join(", ");
    match (swept.is_empty(), variant.is_empty()) {
        (true, true) => "all runs".into(),
        (true, false) => variant.into(),
        (false, true) => swept,
        (false, false) => format!("{swept} [{variant}]"),
    }
}

/// A configuration value as a person reads it: strings without quotes, numbers as written.
pub fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// A nested configuration by dotted key (`train.lr`), leaves only.
pub fn flatten(config: &Value) -> BTreeMap<String, Value> {
    pixelcnn_config::flatten(config).into_iter().collect()
}

/// The dotted keys whose value is not the same in every one of `configs` (a key missing from some
/// counts as differing), sorted.
pub fn differing_keys<'a>(configs: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    let flat: Vec<BTreeMap<String, Value>> = configs.into_iter().map(flatten).collect();
    let keys: BTreeSet<&String> = flat.iter().flat_map(|f| f.keys()).collect();
    keys.into_iter()
        .filter(|key| {
            let mut values = flat.iter().map(|f| f.get(*key));
            let first = values.next().flatten();
            values.any(|v| v != first)
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differing_keys_include_missing_ones() {
        let a = json!({"seed": 1, "model": {"levels": 2}, "x": 1});
        let b = json!({"seed": 2, "model": {"levels": 2}});
        assert_eq!(differing_keys([&a, &b]), ["seed", "x"]);
        assert!(differing_keys([&a, &a]).is_empty());
    }

    #[test]
    fn labels_read_like_assignments() {
        let varying =
            BTreeMap::from([("model.levels".to_string(), json!(256)), ("tag".into(), json!("a b"))]);
        assert_eq!(label(&varying, ""), "model.levels = 256, tag = a b");
        assert_eq!(label(&varying, "profile big"), "model.levels = 256, tag = a b [profile big]");
        assert_eq!(label(&BTreeMap::new(), ""), "all runs");
        assert_eq!(label(&BTreeMap::new(), "profile big"), "profile big");
    }
}
