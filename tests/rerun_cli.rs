//! `pixelcnn rerun` and `pixelcnn export` through the real binary: reruns of tiny CPU runs are
//! bitwise identical on libtorch and on flex, altered records are caught with their epoch, a
//! changed thread count or torch version is refused, and an export retrains to the same identity
//! and numbers.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{json, pixelcnn, text, tiny_experiment};

/// Sweeps a one-run tiny experiment on `device`; returns (database, runs folder, run id).
fn one_run(dir: &Path, device: &str) -> (PathBuf, PathBuf, String) {
    let file = tiny_experiment(dir, &format!("one-{device}"), 2, "[sweep]\nseeds = [5]\n");
    let toml = std::fs::read_to_string(&file)
        .unwrap()
        .replace("device = \"cpu\"", &format!("device = \"{device}\""));
    std::fs::write(&file, toml).unwrap();
    let db = dir.join(format!("{device}.db"));
    let runs = dir.join(format!("{device}-runs"));
    let out = pixelcnn()
        .args(["sweep", file.to_str().unwrap(), "--db", db.to_str().unwrap(), "--no-report"])
        .args(["--runs-dir", runs.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let listed = json(&["runs"], &db);
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    (db, runs, id)
}

fn rerun(db: &Path, runs: &Path, run: &str, extra: &[&str]) -> std::process::Output {
    pixelcnn()
        .args(["rerun", run, "--db", db.to_str().unwrap(), "--runs-dir", runs.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap()
}

fn assert_identical_rerun(device: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (db, runs, id) = one_run(dir.path(), device);
    let out = rerun(&db, &runs, &id[..8], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("identical over 2 epochs (bitwise"), "{said}");
    // The rerun is a new attempt of the same configuration, recorded with its verdict.
    let listed = json(&["runs"], &db);
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["config_hash"], rows[1]["config_hash"]);
    let rerun_id = rows.iter().map(|r| r["id"].as_str().unwrap()).find(|r| *r != id).unwrap();
    let shown = json(&["show", rerun_id], &db);
    assert_eq!(shown["run"]["rerun_of"], id.as_str());
    assert_eq!(shown["rerun_verdicts"][0]["verdict"], "identical");
    // A sweep of the same file afterwards still sees the original as done: nothing is trained.
    let original = json(&["show", &id], &db);
    assert_eq!(original["rerun_verdicts"][0]["run_id"], rerun_id);
}

#[test]
fn rerun_of_a_libtorch_cpu_run_is_identical() {
    assert_identical_rerun("cpu");
}

#[test]
fn rerun_of_a_flex_run_is_identical() {
    assert_identical_rerun("flex");
}

#[test]
fn altered_records_differ_and_thread_changes_need_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let (db, runs, id) = one_run(dir.path(), "cpu");
    let threads = json(&["show", &id], &db)["run"]["threads"].as_u64().unwrap();

    // Another thread count: refused before anything is written.
    let other = (threads + 1).to_string();
    let out = rerun(&db, &runs, &id, &["--threads", &other]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--allow-env-change") && text(&out).contains("threads"), "{}", text(&out));
    assert_eq!(json(&["runs"], &db).as_array().unwrap().len(), 1, "a refused rerun wrote a run");
    // With the flag it runs and is judged by tolerance.
    let out = rerun(&db, &runs, &id, &["--threads", &other, "--allow-env-change", "--epochs", "1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("relative tolerance") && text(&out).contains("environment changed"));

    // Alter the original's recorded training NLL of epoch 2 by far less than anyone would see.
    let sql = format!("UPDATE epochs SET train_nll = train_nll + 1e-12 WHERE run_id = '{id}' AND epoch = 2");
    let altered = Command::new("sqlite3").arg(&db).arg(sql).output().expect("the sqlite3 shell");
    assert!(altered.status.success(), "{}", text(&altered));
    let out = rerun(&db, &runs, &id, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("differs over 2 epochs") && said.contains("epoch 2 train_nll"), "{said}");
    let shown = json(&["show", &id], &db);
    let verdicts = shown["rerun_verdicts"].as_array().unwrap();
    let last = verdicts.last().unwrap();
    assert_eq!(
        (last["verdict"].as_str(), last["first_difference"]["epoch"].as_u64()),
        (Some("differs"), Some(2))
    );
}

#[test]
fn a_rerun_under_another_torch_version_needs_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let (db, runs, id) = one_run(dir.path(), "cpu");
    let ours = json(&["show", &id], &db)["run"]["versions"]["torch"].as_str().unwrap().to_owned();
    // As if the original had been trained by a build against another PyTorch.
    let sql = format!(
        "UPDATE runs SET versions_json = json_set(versions_json, '$.torch', '2.11.0+cu130') WHERE id = '{id}'"
    );
    let altered = Command::new("sqlite3").arg(&db).arg(sql).output().expect("the sqlite3 shell");
    assert!(altered.status.success(), "{}", text(&altered));
    let out = rerun(&db, &runs, &id, &[]);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(
        said.contains(&format!("torch 2.11.0+cu130 -> {ours}")) && said.contains("--allow-env-change"),
        "{said}"
    );
    assert_eq!(json(&["runs"], &db).as_array().unwrap().len(), 1, "a refused rerun wrote a run");
    let out = rerun(&db, &runs, &id, &["--allow-env-change", "--epochs", "1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("environment changed: torch 2.11.0+cu130"), "{}", text(&out));
}

#[test]
fn export_then_train_gives_the_same_identity_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _, id) = one_run(dir.path(), "cpu");
    let exported = dir.path().join("exported");
    let out = pixelcnn()
        .args(["export", &id, "--out", exported.to_str().unwrap(), "--db", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    for file in ["config.toml", "metrics.csv", "run.json"] {
        assert!(exported.join(file).is_file(), "{file} missing");
    }
    assert!(exported.join("checkpoints").read_dir().unwrap().next().is_some(), "no checkpoint exported");

    let retrained = dir.path().join("retrained");
    let out = pixelcnn()
        .args(["train", "--config", exported.join("config.toml").to_str().unwrap()])
        .args(["--out", retrained.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let hash = std::fs::read_to_string(retrained.join("config_hash")).unwrap();
    let recorded = json(&["show", &id], &db);
    assert_eq!(hash.trim(), recorded["run"]["config_hash"].as_str().unwrap());

    // metrics.csv (the record) and the retrained run's metrics.jsonl agree on every number but time.
    let csv = std::fs::read_to_string(exported.join("metrics.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let record: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let fresh = common::metrics_without_timing(&retrained);
    assert_eq!(record.len(), fresh.len());
    for (row, fresh) in record.iter().zip(&fresh) {
        for (key, value) in header.iter().zip(row) {
            if matches!(*key, "seconds" | "images_per_second") {
                continue;
            }
            let expected = &fresh[*key];
            match value.parse::<f64>() {
                Ok(v) => assert_eq!(v, expected.as_f64().unwrap(), "{key}"),
                Err(_) => assert!(value.is_empty() && expected.is_null(), "{key}: {value:?} vs {expected}"),
            }
        }
    }
}
