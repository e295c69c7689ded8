//! `config_hash`: the stable identity of a configuration, the key of resume and dedup.
//!
//! It is the SHA-256 of canonical JSON holding the configuration's numeric identity (every key that
//! changes the numbers; see `pixelcnn_config::numeric_identity` for what is left out and how new
//! keys are treated) and the SHA-256 of each data file, so that the same settings on different data
//! are different configurations while moving the data folder changes nothing.

use sha2::{Digest, Sha256};

use crate::identity::numeric_identity;
use crate::run::RunConfig;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn sums() -> Vec<(String, String)> {
        vec![("train-images-idx3-ubyte".into(), "aa".into()), ("t10k-images-idx3-ubyte".into(), "bb".into())]
    }

    #[test]
    fn epochs_sampling_device_and_paths_do_not_change_the_hash() {
        let base = RunConfig::default();
        let mut other = base.clone();
        other.train.epochs = 3;
        other.sample.count = 0;
        other.checkpoint.keep_last = 5;
        other.device = crate::DeviceSpec::Flex;
        other.threads = 1;
        other.data.dir = Some("/somewhere/else".into());
        assert_eq!(config_hash(&base, &sums()), config_hash(&other, &sums()));
        // The order in which checksums are listed does not matter either.
        let mut reversed = sums();
        reversed.reverse();
        assert_eq!(config_hash(&base, &sums()), config_hash(&base, &reversed));
    }

    #[test]
    fn the_recipe_the_seed_and_the_data_change_the_hash() {
        let base = RunConfig::default();
        let h = config_hash(&base, &sums());
        let mut lr = base.clone();
        lr.train.lr = 2e-3;
        let mut seed = base.clone();
        seed.seed = 7;
        let mut limit = base.clone();
        limit.data.train_limit = Some(100);
        let mut levels = base.clone();
        levels.model.levels = crate::Levels::new(256).unwrap();
        for changed in [&lr, &seed, &limit, &levels] {
            assert_ne!(config_hash(changed, &sums()), h);
        }
        let mut other_data = sums();
        other_data[0].1 = "cc".into();
        assert_ne!(config_hash(&base, &other_data), h);
        // A stable value: the hash is a pure function of its inputs (64 hex digits).
        assert_eq!(h, config_hash(&RunConfig::default(), &sums()));
        assert_eq!(h.len(), 64);
    }

    /// Hashes computed before `model.family` existed (at commit 11ba342): adding the key with its
    /// neutral value left every stored configuration's identity as it was, so old databases still
    /// resume and dedup.
    #[test]
    fn hashes_from_before_model_family_are_unchanged() {
        let default = RunConfig::default();
        let before = "2c2a4f3b44511b0df1e8635a4ee6baab1fd053e3f42e46757a408e48e25609b8";
        assert_eq!(config_hash(&default, &sums()), before);
        let mut custom = default.clone();
        custom.model.levels = crate::Levels::new(256).unwrap();
        custom.model.blocks = 3;
        custom.model.hidden = 16;
        custom.model.first_kernel = 5;
        let before = "c44f3aa6fb71ee022f3ff7b402cbda5475addd6c5906a9b2119232fd1c810652";
        assert_eq!(config_hash(&custom, &sums()), before);
    }

    /// `model.family = "pixelcnn"` written out is the same configuration as leaving it out.
    #[test]
    fn naming_the_default_family_is_leaving_it_out() {
        let named: RunConfig = toml::from_str("[model]\nfamily = \"pixelcnn\"\n").unwrap();
        let omitted: RunConfig = toml::from_str("[model]\n").unwrap();
        assert_eq!(config_hash(&named, &sums()), config_hash(&omitted, &sums()));
        assert_eq!(config_hash(&omitted, &sums()), config_hash(&RunConfig::default(), &sums()));
    }

    /// The keys the gated family brought (`[model.gated]`, `model.condition`) leave every PixelCNN
    /// configuration's identity as it was before them, whatever `[model.gated]` holds: the fixed
    /// hashes of `hashes_from_before_model_family_are_unchanged` again, with the gated keys moved.
    #[test]
    fn gated_keys_leave_pixelcnn_hashes_unchanged() {
        let mut default = RunConfig::default();
        default.model.gated = crate::GatedKeys { layers: 3, channels: 8, kernel: 5 };
        let before = "2c2a4f3b44511b0df1e8635a4ee6baab1fd053e3f42e46757a408e48e25609b8";
        assert_eq!(config_hash(&default, &sums()), before);
        let named: RunConfig =
            toml::from_str("[model]\ncondition = \"none\"\n[model.gated]\nlayers = 2\n").unwrap();
        assert_eq!(config_hash(&named, &sums()), before);
    }

    /// A gated configuration's identity: its own keys and the condition count, the PixelCNN's
    /// keys do not (it never reads them). Its hash is pinned, so that a change to how it is
    /// computed shows up here rather than as stored gated runs that no longer resume.
    #[test]
    fn gated_identity_holds_its_own_keys() {
        let mut gated = RunConfig::default();
        gated.model.family = crate::ModelFamily::Gated;
        let h = config_hash(&gated, &sums());
        assert_eq!(h, "4097c3329c02c4deb462e3252522fb1e7b9c164984075398742516af5d3fbfd9");
        assert_ne!(h, config_hash(&RunConfig::default(), &sums()));
        let mut other_pixelcnn_keys = gated.clone();
        other_pixelcnn_keys.model.blocks = 2;
        other_pixelcnn_keys.model.hidden = 3;
        other_pixelcnn_keys.model.first_kernel = 5;
        assert_eq!(config_hash(&other_pixelcnn_keys, &sums()), h);
        let mut layers = gated.clone();
        layers.model.gated.layers = 4;
        let mut channels = gated.clone();
        channels.model.gated.channels = 4;
        let mut kernel = gated.clone();
        kernel.model.gated.kernel = 5;
        let mut conditional = gated.clone();
        conditional.model.condition = crate::Condition::Label;
        let hashes: std::collections::BTreeSet<String> = [&gated, &layers, &channels, &kernel, &conditional]
            .iter()
            .map(|c| config_hash(c, &sums()))
            .collect();
        assert_eq!(hashes.len(), 5, "every gated key changes the identity");
    }
}
