//! Layering and error reporting of a single run's configuration.

use std::io::Write;

use pixelcnn_config::{ConfigError, Override, RunConfig, resolve_run};

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

fn sets(items: &[&str]) -> Vec<Override> {
    items.iter().map(|s| Override::parse(s).unwrap()).collect()
}

#[test]
fn defaults_are_the_seed_recipe() {
    let c = RunConfig::default();
    assert_eq!((c.model.blocks, c.model.hidden, c.model.first_kernel), (15, 64, 7));
    assert_eq!((c.train.epochs, c.train.batch_size), (100, 128));
    assert_eq!((c.train.lr, c.train.lr_decay, c.train.clip_norm), (1e-3, 0.999_995, 1.0));
    assert_eq!((c.train.beta1, c.train.beta2, c.train.epsilon), (0.9, 0.999, 1e-7));
    assert_eq!(c.data.validation_size, 0);
}

#[test]
fn file_beats_defaults_and_set_beats_file() {
    let f = file("[train]\nepochs = 3\nlr = 0.01\n[model]\nlevels = 256\n");
    let c = resolve_run(Some(f.path()), &sets(&["train.epochs=5", "device=flex"])).unwrap();
    assert_eq!(c.train.epochs, 5);
    assert_eq!(c.train.lr, 0.01);
    assert_eq!(c.model.levels.get(), 256);
    assert_eq!(c.device, pixelcnn_config::DeviceSpec::Flex);
    assert_eq!(c.train.batch_size, 128);
}

#[test]
fn unknown_key_names_file_key_and_suggestion() {
    let f = file("[train]\nepoch = 3\n");
    let err = resolve_run(Some(f.path()), &[]).unwrap_err();
    let ConfigError::UnknownKey { origin, key, suggestion } = &err else { panic!("{err}") };
    assert_eq!(key, "train.epoch");
    assert_eq!(suggestion.as_deref(), Some("train.epochs"));
    assert!(origin.contains(&f.path().display().to_string()), "{origin}");
}

#[test]
fn syntax_error_gives_line_and_column() {
    let f = file("[train]\nepochs = 3\nlr = = 2\n");
    let err = resolve_run(Some(f.path()), &[]).unwrap_err();
    let ConfigError::Syntax { line, .. } = &err else { panic!("{err}") };
    assert_eq!(*line, 3);
    assert!(err.to_string().starts_with(&format!("{}:3:", f.path().display())), "{err}");
}

#[test]
fn out_of_range_value_names_its_origin() {
    let f = file("[model]\nlevels = 300\n");
    let err = resolve_run(Some(f.path()), &[]).unwrap_err();
    let ConfigError::InvalidValue { origin, key, .. } = &err else { panic!("{err}") };
    assert_eq!(key, "model.levels");
    assert!(origin.contains(&f.path().display().to_string()), "{origin}");

    let err = resolve_run(None, &sets(&["train.lr=0"])).unwrap_err();
    let ConfigError::InvalidValue { origin, key, .. } = &err else { panic!("{err}") };
    assert_eq!((origin.as_str(), key.as_str()), ("--set train.lr", "train.lr"));
}

#[test]
fn wrong_type_names_the_key() {
    let f = file("[train]\nbatch_size = \"big\"\n");
    let err = resolve_run(Some(f.path()), &[]).unwrap_err();
    let ConfigError::InvalidValue { key, .. } = &err else { panic!("{err}") };
    assert_eq!(key, "train.batch_size");
}

#[test]
fn bad_override_is_rejected() {
    assert!(matches!(Override::parse("train.epochs"), Err(ConfigError::BadOverride(_))));
    assert!(matches!(Override::parse("=3"), Err(ConfigError::BadOverride(_))));
}

#[test]
fn identity_ignores_epochs_sampling_and_device_but_not_recipe() {
    use pixelcnn_config::first_identity_difference;
    let base = RunConfig::default();
    let mut other = base.clone();
    other.train.epochs = 7;
    other.sample.every = 2;
    other.device = pixelcnn_config::DeviceSpec::Flex;
    other.threads = 1;
    other.data.dir = Some("/elsewhere".into());
    assert_eq!(first_identity_difference(&base, &other), None);
    other.train.lr_decay = 0.9999;
    assert_eq!(first_identity_difference(&base, &other).as_deref(), Some("train.lr_decay"));
    let mut seeded = base.clone();
    seeded.seed = 1;
    assert_eq!(first_identity_difference(&base, &seeded).as_deref(), Some("seed"));
}

#[test]
fn added_keys_at_their_neutral_value_keep_old_identities() {
    use pixelcnn_config::{ADDED_KEYS, identity_of, numeric_identity};
    let old = RunConfig::default();
    // A later version of the tool adds `train.warmup_steps` (0: no warm-up, the old behaviour).
    let mut with_new_key = serde_json::to_value(&old).unwrap();
    with_new_key["train"]["warmup_steps"] = serde_json::json!(0);
    let added: Vec<(&str, &str)> = ADDED_KEYS.iter().copied().chain([("train.warmup_steps", "0")]).collect();
    assert_eq!(identity_of(with_new_key.clone(), &added), numeric_identity(&old));
    // Without the registration every stored configuration would change identity.
    assert_ne!(identity_of(with_new_key.clone(), ADDED_KEYS), numeric_identity(&old));
    // Using the new key is a new configuration.
    with_new_key["train"]["warmup_steps"] = serde_json::json!(100);
    assert_ne!(identity_of(with_new_key, &added), numeric_identity(&old));
}

/// `model.family` came after the first release: a configuration stored without it (a database
/// row, a checkpoint header) reads as the PixelCNN and has the identity of one that names it.
#[test]
fn model_family_defaults_to_pixelcnn_and_keeps_old_identities() {
    use pixelcnn_config::{ADDED_KEYS, ModelFamily, identity_of, numeric_identity};
    let current = RunConfig::default();
    assert_eq!(current.model.family, ModelFamily::PixelCnn);
    let mut stored = serde_json::to_value(&current).unwrap();
    assert_eq!(stored["model"]["family"], "pixelcnn", "the key is written, by name");
    stored["model"].as_object_mut().unwrap().remove("family");
    let read: RunConfig = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(read, current, "a configuration without the key is the PixelCNN");
    assert_eq!(identity_of(stored, ADDED_KEYS), numeric_identity(&current));
    // Naming the default in a file, or with --set, is the same configuration as leaving it out.
    let f = file("[model]\nfamily = \"pixelcnn\"\n");
    assert_eq!(resolve_run(Some(f.path()), &[]).unwrap(), current);
    assert_eq!(resolve_run(None, &sets(&["model.family=pixelcnn"])).unwrap(), current);
    // The neutral value registered for the identity is the default's JSON.
    let neutral = ADDED_KEYS.iter().find(|(key, _)| *key == "model.family").expect("registered").1;
    let default = serde_json::to_value(ModelFamily::default()).unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(neutral).unwrap(), default);
}

#[test]
fn unknown_model_family_names_the_key_and_the_families() {
    let f = file("[model]\nfamily = \"pixelsnail\"\n");
    let err = resolve_run(Some(f.path()), &[]).unwrap_err();
    let ConfigError::InvalidValue { origin, key, message } = &err else { panic!("{err}") };
    assert_eq!(key, "model.family");
    assert!(origin.contains(&f.path().display().to_string()), "{origin}");
    assert!(
        message.contains("pixelsnail") && message.contains("pixelcnn") && message.contains("gated"),
        "{message}"
    );
    let err = resolve_run(None, &sets(&["model.family=pixelsnail"])).unwrap_err();
    assert!(err.to_string().contains("--set model.family") && err.to_string().contains("pixelcnn"), "{err}");
}
