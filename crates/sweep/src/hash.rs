//! `config_hash`: the stable identity of a configuration, the key of resume and dedup.
//!
//! It is the SHA-256 of canonical JSON holding the configuration's numeric identity (every key that
//! changes the numbers; see `pixelcnn_config::numeric_identity` for what is left out and how new
//! keys are treated) and the SHA-256 of each data file, so that the same settings on different data
//! are different configurations while moving the data folder changes nothing.

use pixelcnn_config::{RunConfig, numeric_identity};
use sha2::{Digest, Sha256};

/// Hash of a run configuration together with the checksums of the data it reads.
pub fn config_hash(config: &RunConfig, data_checksums: &[(String, String)]) -> String {
    let mut checksums = data_checksums.to_vec();
    checksums.sort();
    let canonical = serde_json::json!({
        "config": numeric_identity(config),
        "data": checksums,
    });
    // serde_json's maps are sorted by key, so this text is canonical.
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}
