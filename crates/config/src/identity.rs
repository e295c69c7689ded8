//! What makes two runs the same experiment: every key that changes the numbers of the epochs a run
//! trains. Deliberately excluded, because they change how long or where a run goes but not what it
//! computes per epoch: `train.epochs` (raising it extends a run), sampling and checkpoint
//! settings, `device`, `threads` and `data.dir` (the data's checksums stand for the data instead).
//!
//! A key added to the tool later is part of the identity unless it is listed here: new keys change
//! the numbers by default, and a key that keeps its default value serialises the same way it did
//! before only if its default reproduces the old behaviour (which is how new keys must be added).

use serde_json::Value;

use crate::run::RunConfig;

/// Keys (or whole sections) left out of a run's identity.
pub const EXCLUDED_KEYS: &[&str] = &["train.epochs", "sample", "checkpoint", "device", "threads", "data.dir"];

/// The configuration with the excluded keys removed, as canonical JSON (keys sorted).
pub fn numeric_identity(config: &RunConfig) -> Value {
    let mut value = serde_json::to_value(config).expect("a run configuration serialises");
    for key in EXCLUDED_KEYS {
        remove_path(&mut value, key);
    }
    value
}

fn remove_path(value: &mut Value, dotted: &str) {
    let (parent, leaf) = match dotted.rsplit_once('.') {
        Some((parent, leaf)) => (value.pointer_mut(&format!("/{}", parent.replace('.', "/"))), leaf),
        None => (Some(value), dotted),
    };
    if let Some(Value::Object(map)) = parent {
        map.remove(leaf);
    }
}

/// The first dotted key (in sorted order) whose value differs between the identities of `a` and
/// `b`, or `None` when both runs compute the same numbers.
pub fn first_identity_difference(a: &RunConfig, b: &RunConfig) -> Option<String> {
    first_difference(&numeric_identity(a), &numeric_identity(b), "")
}

fn first_difference(a: &Value, b: &Value, prefix: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => first_difference(u, v, &path),
                    _ => Some(path),
                }
            })
        }
        _ => (a != b).then(|| prefix.to_owned()),
    }
}
