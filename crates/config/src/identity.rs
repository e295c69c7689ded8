//! What makes two runs the same experiment: every key that changes the numbers of the epochs a run
//! trains. Deliberately excluded, because they change how long or where a run goes but not what it
//! computes per epoch: `train.epochs` (raising it extends a run), sampling and checkpoint
//! settings, `device`, `threads` and `data.dir` (the data's checksums stand for the data instead).
//!
//! Adding a key to the tool must not orphan the runs already stored: a new key gets a default that
//! reproduces the behaviour from before it existed, and is listed in [`ADDED_KEYS`] with that
//! value. A configuration holding that value hashes exactly as it did before the key existed (the
//! key is dropped from its identity), so old sweeps still resume and dedup; any other value is a
//! new configuration. A new key that is not listed changes every stored configuration's identity:
//! the test `added_keys_at_their_neutral_value_keep_old_identities` shows the mechanism.
//!
//! Keys that only one model family reads ([`family_keys`]) are left out of the identity of runs
//! of every other family: they change nothing those runs compute, so a PixelCNN run keeps its
//! identity whatever `[model.gated]` holds, and a sweep over both families sets both families'
//! keys without splitting identical runs.

use serde_json::Value;

use crate::run::{ModelFamily, RunConfig};

/// Keys (or whole sections) left out of a run's identity.
pub const EXCLUDED_KEYS: &[&str] = &["train.epochs", "sample", "checkpoint", "device", "threads", "data.dir"];

/// Keys added after the first release, with the value (as JSON text) that reproduces the behaviour
/// from before they existed.
///
/// - `model.family`: every run before it trained the PixelCNN.
/// - `model.condition`: every run before it was unconditional.
pub const ADDED_KEYS: &[(&str, &str)] = &[("model.family", "\"pixelcnn\""), ("model.condition", "\"none\"")];

/// The keys `family` reads and no other family does (a match, so that a new family does not
/// compile until it says which keys are its own).
pub const fn family_keys(family: ModelFamily) -> &'static [&'static str] {
    match family {
        ModelFamily::PixelCnn => &["model.blocks", "model.hidden", "model.first_kernel"],
        ModelFamily::Gated => &["model.gated"],
    }
}

/// The configuration with the excluded keys removed, as canonical JSON (keys sorted).
pub fn numeric_identity(config: &RunConfig) -> Value {
    identity_of(serde_json::to_value(config).expect("a run configuration serialises"), ADDED_KEYS)
}

/// The identity of a configuration's JSON, given the keys added since the first release.
pub fn identity_of(mut value: Value, added: &[(&str, &str)]) -> Value {
    for key in EXCLUDED_KEYS {
        remove_path(&mut value, key);
    }
    // A configuration that names no family is the PixelCNN's (recorded before families existed).
    let family =
        value.pointer("/model/family").and_then(Value::as_str).unwrap_or(ModelFamily::PixelCnn.as_str());
    let foreign: Vec<&str> = ModelFamily::ALL
        .into_iter()
        .filter(|other| other.as_str() != family)
        .flat_map(family_keys)
        .copied()
        .collect();
    for key in foreign {
        remove_path(&mut value, key);
    }
    for (key, neutral) in added {
        let neutral: Value = serde_json::from_str(neutral).expect("ADDED_KEYS holds JSON");
        if value.pointer(&format!("/{}", key.replace('.', "/"))) == Some(&neutral) {
            remove_path(&mut value, key);
        }
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
