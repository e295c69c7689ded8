//! A database written before epoch metrics, artefact kinds and retention moved to
//! `crates/record` and devices, samplers and levels became types (by `pixelcnn` at commit 062d47c,
//! from `tests/data/before-record/experiment.toml`) still works with this build: its epochs read
//! back exactly as that build exported them, and its stored `config_hash`es are the ones this
//! build computes, so sweeping the same file again trains nothing.

mod common;

use std::path::{Path, PathBuf};

use common::{run, text};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/before-record").join(name)
}

fn metrics(db: &Path) -> serde_json::Value {
    let o = run(&["metrics", "--db", db.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn a_database_from_before_the_record_crate_reads_and_dedups_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("results.db");
    std::fs::copy(fixture("results.db"), &db).unwrap();

    // Every stored column, timing included, as the old build exported it.
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("metrics.json")).unwrap()).unwrap();
    assert_eq!(expected.as_array().map(Vec::len), Some(4), "two runs of two epochs");
    assert_eq!(metrics(&db), expected);

    // The same experiment file finds both configurations done: the hashes still match.
    let runs_dir = dir.path().join("runs");
    let reports_dir = dir.path().join("reports");
    let o = run(&[
        "sweep",
        fixture("experiment.toml").to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--runs-dir",
        runs_dir.to_str().unwrap(),
        "--reports-dir",
        reports_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("0 trained") && text(&o).contains("already recorded: 2 finished, 0 failed"),
        "{}",
        text(&o)
    );
    assert_eq!(metrics(&db), expected, "nothing was trained again");
    assert!(reports_dir.join("before-record").join("index.html").is_file(), "the report is written");

    // gc reads each old run's stored retention.
    let o = run(&["gc", "--db", db.to_str().unwrap(), "--dry-run"]);
    assert!(o.status.success(), "{}", text(&o));
}
