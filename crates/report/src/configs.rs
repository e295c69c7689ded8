//! Configurations of an experiment: its runs grouped by everything but the seed, and the keys whose
//! values differ between runs.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::load::RunData;

/// One configuration: the runs that differ only by their seed (plus reruns of them).
#[derive(Clone, Debug, PartialEq)]
pub struct Configuration {
    /// Position in the experiment, from 1 (used in file names: never a user string).
    pub number: usize,
    /// `key = value` pairs of the swept keys other than the seed, e.g. `model.levels = 2`.
    pub label: String,
    /// The swept keys other than the seed and their values.
    pub varying: BTreeMap<String, Value>,
    /// Indexes of its runs in the experiment's run list, oldest first.
    pub runs: Vec<usize>,
    /// Its number of levels `q`.
    pub levels: Option<u64>,
    /// Its model family (`pixelcnn`, `gated`).
    pub family: String,
    /// What its model is conditioned on (`none`, `label`).
    pub condition: String,
}

impl Configuration {
    /// Whether its model is conditioned on the digit's class (its pictures have one row per
    /// class, its NLL is `-log p(x | class)`).
    pub fn conditional(&self) -> bool {
        self.condition != "none"
    }
}

/// Groups runs by their swept values without the seed, in order of first appearance.
pub fn group(runs: &[RunData]) -> Vec<Configuration> {
    let mut groups: Vec<Configuration> = Vec::new();
    for (index, run) in runs.iter().enumerate() {
        let mut varying: BTreeMap<String, Value> = match &run.detail.varying {
            Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            _ => BTreeMap::new(),
        };
        varying.remove("seed");
        match groups.iter_mut().find(|g| g.varying == varying) {
            Some(existing) => existing.runs.push(index),
            None => groups.push(Configuration {
                number: groups.len() + 1,
                label: label(&varying),
                varying,
                runs: vec![index],
                levels: run.levels(),
                family: run.family(),
                condition: run.condition(),
            }),
        }
    }
    groups
}

fn label(varying: &BTreeMap<String, Value>) -> String {
    if varying.is_empty() {
        return "all runs".into();
    }
    varying.iter().map(|(k, v)| format!("{k} = {}", display(v))).collect::<Vec<_>>().join(", ")
}

/// A configuration value as a person reads it: strings without quotes, numbers as written.
pub fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// Flattens a nested configuration into dotted keys (`train.lr`), leaves only.
pub fn flatten(config: &Value) -> BTreeMap<String, Value> {
    fn walk(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                    walk(&path, inner, out);
                }
            }
            leaf => {
                out.insert(prefix.to_owned(), leaf.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", config, &mut out);
    out
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
    fn flatten_uses_dotted_paths() {
        let flat = flatten(&json!({"seed": 1, "train": {"lr": 0.001, "epochs": 3}}));
        assert_eq!(flat.keys().collect::<Vec<_>>(), ["seed", "train.epochs", "train.lr"]);
        assert_eq!(flat["train.lr"], json!(0.001));
    }

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
        assert_eq!(label(&varying), "model.levels = 256, tag = a b");
        assert_eq!(label(&BTreeMap::new()), "all runs");
    }
}
