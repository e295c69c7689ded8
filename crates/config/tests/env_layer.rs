//! The environment layer of experiment files (`PIXELCNN_CFG__SECTION__KEY`). The environment is
//! process-wide and the crate forbids `unsafe` (which `set_var` needs in edition 2024), so each
//! check runs in a child process of this test binary, started with its variables set; the child
//! tests are `#[ignore]`d and do nothing unless started that way.

use std::io::Write;
use std::process::Command;

use pixelcnn_config::{ConfigError, Override, load_experiment};

/// Marks a child process; not under the `PIXELCNN_CFG__` prefix, so it configures nothing.
const CHILD: &str = "PIXELCNN_TEST_ENV_CHILD";

const FILE: &str = r#"
[experiment]
name = "env"

[train]
epochs = 10
batch_size = 64

[sweep]
"model.levels" = [2, 256]

[profile.p.train]
epochs = 5
"#;

/// Runs the ignored test `name` in a child process with `vars` set, and asserts that it passed.
fn run_child(name: &str, vars: &[(&str, &str)]) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("1 passed"), "child {name} failed:\n{text}");
}

/// Runs a child's body only inside a child process.
fn in_child(body: impl FnOnce(&std::path::Path)) {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(FILE.as_bytes()).unwrap();
    body(f.path());
}

#[test]
fn environment_beats_file_and_profile_and_set_beats_environment() {
    run_child("child_env_epochs", &[("PIXELCNN_CFG__TRAIN__EPOCHS", "7")]);
}

#[test]
#[ignore = "run by environment_beats_file_and_profile_and_set_beats_environment with its environment"]
fn child_env_epochs() {
    in_child(|path| {
        let e = load_experiment(path, None, &[]).unwrap();
        assert_eq!((e.base.train.epochs, e.base.train.batch_size), (7, 64));
        let e = load_experiment(path, Some("p"), &[]).unwrap();
        assert_eq!(e.base.train.epochs, 7);
        assert!(e.runs.iter().all(|r| r.config.train.epochs == 7));
        let e = load_experiment(path, Some("p"), &[Override::parse("train.epochs=9").unwrap()]).unwrap();
        assert_eq!(e.base.train.epochs, 9);
        assert!(e.notes.is_empty(), "{:?}", e.notes);
    });
}

#[test]
fn environment_on_a_swept_key_replaces_the_axis() {
    run_child("child_env_swept", &[("PIXELCNN_CFG__MODEL__LEVELS", "4")]);
}

#[test]
#[ignore = "run by environment_on_a_swept_key_replaces_the_axis with its environment"]
fn child_env_swept() {
    in_child(|path| {
        let e = load_experiment(path, None, &[]).unwrap();
        assert_eq!(e.runs.len(), 1);
        assert_eq!(e.runs[0].config.model.levels.get(), 4);
        assert_eq!(
            e.notes,
            vec!["environment PIXELCNN_CFG__MODEL__LEVELS=4 replaces the sweep axis model.levels = [2, 256]"]
        );
        // --set beats the environment.
        let e = load_experiment(path, None, &[Override::parse("model.levels=8").unwrap()]).unwrap();
        assert_eq!(e.runs[0].config.model.levels.get(), 8);
    });
}

#[test]
fn bad_environment_values_name_the_variable_prefix_and_key() {
    run_child("child_env_bad_value", &[("PIXELCNN_CFG__TRAIN__LR", "0")]);
    run_child("child_env_unknown_key", &[("PIXELCNN_CFG__TRAIN__EPOCHZ", "3")]);
}

#[test]
#[ignore = "run by bad_environment_values_name_the_variable_prefix_and_key with its environment"]
fn child_env_bad_value() {
    in_child(|path| {
        let err = load_experiment(path, None, &[]).unwrap_err();
        let ConfigError::InvalidValue { key, origin, .. } = &err else { panic!("{err:?}") };
        assert_eq!(key, "train.lr");
        assert!(origin.contains("PIXELCNN_CFG__"), "{origin}");
    });
}

#[test]
#[ignore = "run by bad_environment_values_name_the_variable_prefix_and_key with its environment"]
fn child_env_unknown_key() {
    in_child(|path| {
        let err = load_experiment(path, None, &[]).unwrap_err();
        let ConfigError::UnknownKey { key, origin, suggestion } = &err else { panic!("{err:?}") };
        assert_eq!((key.as_str(), suggestion.as_deref()), ("train.epochz", Some("train.epochs")));
        assert!(origin.contains("PIXELCNN_CFG__"), "{origin}");
    });
}
