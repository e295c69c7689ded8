//! `pixelcnn sweep` through the real binary: resume and dedup by configuration, failures, kill -9,
//! concurrent sweeps, and invalid experiment files that must leave the database untouched.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{epoch_rows, json, pixelcnn, run, text, tiny_experiment};

fn sweep(file: &Path, db: &Path, extra: &[&str]) -> std::process::Output {
    let runs_dir = db.with_extension("runs");
    let mut args = vec!["sweep", file.to_str().unwrap(), "--db", db.to_str().unwrap()];
    let reports_dir = db.with_extension("reports");
    args.extend(["--runs-dir", runs_dir.to_str().unwrap(), "--reports-dir", reports_dir.to_str().unwrap()]);
    args.extend(extra);
    run(&args)
}

/// Starts a one-run sweep whose epochs take long enough to interrupt, and returns once `epochs`
/// of them are recorded: (sweep process, experiment file, database).
fn start_slow_sweep(
    dir: &Path,
    name: &str,
    epochs: usize,
    recorded: usize,
) -> (std::process::Child, PathBuf, PathBuf) {
    let file = tiny_experiment(dir, name, epochs, "[sweep]\nseeds = [7]\n");
    let slow = std::fs::read_to_string(&file).unwrap().replace("train_limit = 512", "train_limit = 4096");
    std::fs::write(&file, slow).unwrap();
    let db = dir.join("p.db");
    let runs_dir = db.with_extension("runs");
    let child = pixelcnn()
        .args(["sweep", file.to_str().unwrap(), "--db", db.to_str().unwrap()])
        .args(["--runs-dir", runs_dir.to_str().unwrap(), "--no-report"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !(db.exists() && epoch_rows(&db).len() >= recorded) {
        assert!(Instant::now() < deadline, "epoch {recorded} never finished");
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, file, db)
}

#[test]
fn a_finished_sweep_trains_nothing_and_more_epochs_extend_it() {
    let dir = tempfile::tempdir().unwrap();
    let file =
        tiny_experiment(dir.path(), "dedup", 2, "[sweep]\n\"model.levels\" = [2, 4]\nseeds = [1, 2]\n");
    let db = dir.path().join("p.db");
    let o = sweep(&file, &db, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let runs = json(&["runs"], &db);
    assert_eq!(runs.as_array().unwrap().len(), 4);
    let before = epoch_rows(&db);
    assert_eq!(before.len(), 8);

    let o = sweep(&file, &db, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("0 trained"), "{}", text(&o));
    assert_eq!(epoch_rows(&db), before);

    // Inspection: filters and the tidy export.
    assert_eq!(json(&["runs", "--where", "model.levels=2"], &db).as_array().unwrap().len(), 2);
    assert_eq!(json(&["runs", "--status", "failed"], &db).as_array().unwrap().len(), 0);
    let o = run(&["metrics", "--db", db.to_str().unwrap(), "--experiment", "dedup"]);
    let csv = String::from_utf8(o.stdout).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for column in ["run_id", "epoch", "model.levels", "seed", "test_bits_per_dim", "train.lr"] {
        assert!(header.contains(&column), "{column} missing from {header:?}");
    }
    assert_eq!(csv.lines().count(), 1 + 8);

    // Raising the epochs extends the same runs by one epoch each, keeping the first two.
    let o = sweep(&file, &db, &["--set", "train.epochs=3"]);
    assert!(o.status.success(), "{}", text(&o));
    let after = epoch_rows(&db);
    assert_eq!(after.len(), 12);
    let ids: Vec<_> = json(&["runs"], &db).as_array().unwrap().iter().map(|r| r["id"].clone()).collect();
    assert_eq!(ids.len(), 4, "extension continues the same runs");
    let kept: Vec<_> = after.iter().filter(|r| r.1 <= 2).cloned().collect();
    assert_eq!(kept, before);

    // The same extension as one uninterrupted sweep gives the same numbers.
    let fresh = dir.path().join("fresh.db");
    let o = sweep(&file, &fresh, &["--set", "train.epochs=3"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(epoch_rows(&fresh), after);
}

/// Two experiment files that share a configuration share its run (same hash, same numbers): the
/// second one, asking for more epochs, extends the first one's attempt from its checkpoint, which
/// lives in the first experiment's folder.
#[test]
fn a_configuration_of_another_experiment_is_extended_where_it_lives() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let first = tiny_experiment(dir.path(), "first", 1, "[sweep]\nseeds = [5]\n");
    let o = sweep(&first, &db, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let second = tiny_experiment(dir.path(), "second", 2, "[sweep]\nseeds = [5]\n");
    let o = sweep(&second, &db, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let runs = json(&["runs"], &db);
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1, "one attempt of the shared configuration: {runs:?}");
    assert_eq!(
        (runs[0]["experiment"].as_str(), runs[0]["status"].as_str()),
        (Some("first"), Some("finished"))
    );
    assert_eq!(epoch_rows(&db).len(), 2, "epoch 2 trained on top of epoch 1");
    let id = runs[0]["id"].as_str().unwrap();
    assert!(db.with_extension("runs").join("first").join(id).join("checkpoints/epoch-0002.ckpt").is_file());
}

#[test]
fn a_failing_run_does_not_stop_the_others_and_keeps_its_error() {
    let dir = tempfile::tempdir().unwrap();
    // An absurd learning rate makes the loss infinite or NaN within a few steps.
    let file = tiny_experiment(dir.path(), "failing", 1, "[sweep]\n\"train.lr\" = [0.005, 1e30]\n");
    let db = dir.path().join("p.db");
    let o = sweep(&file, &db, &[]);
    assert!(!o.status.success(), "a sweep with a failed run exits non-zero");
    let runs = json(&["runs"], &db);
    let statuses: Vec<&str> =
        runs.as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "finished").count(), 1, "{statuses:?}");
    let failed = runs.as_array().unwrap().iter().find(|r| r["status"] == "failed").expect("a failed run");
    let detail = json(&["show", failed["id"].as_str().unwrap()], &db);
    let error = detail["run"]["error"].as_str().unwrap();
    assert!(error.contains("diverged"), "{error}");
    // The error says where and what usually helps, with the values in force.
    for words in ["epoch 1, step", "train.lr, now 1e30", "train.clip_norm"] {
        assert!(error.contains(words), "the divergence error names `{words}`: {error}");
    }
    // The sweep listed the failed run (id, configuration, error) and how to retry it.
    let said = text(&o);
    let id = failed["id"].as_str().unwrap();
    for words in [&id[..8], "train.lr=1e+30", "diverged", "--retry-failed", "1 failed"] {
        assert!(said.contains(words), "the sweep's output names `{words}`:\n{said}");
    }

    // Sweeping again does not retry it, and does not call it done: non-zero, listed again.
    let again = sweep(&file, &db, &[]);
    let said = text(&again);
    assert!(!again.status.success(), "a failed run left behind is not success:\n{said}");
    for words in [
        "1 finished, 1 failed (not retried), 0 pruned, 0 paused at a rung; 0 running elsewhere",
        &id[..8],
        "--retry-failed",
    ] {
        assert!(said.contains(words), "the second sweep's output names `{words}`:\n{said}");
    }
    assert!(!said.contains("already done"), "{said}");
}

#[test]
fn two_sweeps_at_once_train_every_configuration_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let file =
        tiny_experiment(dir.path(), "twice", 1, "[sweep]\n\"model.levels\" = [2, 3, 4]\nseeds = [1, 2]\n");
    let db = dir.path().join("p.db");
    let runs_dir = dir.path().join("runs");
    // Two schedulers with two worker slots each: four workers write to one database at once.
    let start = || {
        pixelcnn()
            .args(["sweep", file.to_str().unwrap(), "--db", db.to_str().unwrap(), "--parallel", "2"])
            .args(["--runs-dir", runs_dir.to_str().unwrap()])
            .args(["--reports-dir", dir.path().join("reports").to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (start(), start());
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let runs = json(&["runs"], &db);
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 6, "one run per configuration");
    // Both wrote the report at the end, to the same folder, without tripping over each other.
    assert!(dir.path().join("reports/twice/index.html").is_file());
    assert!(runs.iter().all(|r| r["status"] == "finished"));
    assert_eq!(epoch_rows(&db).len(), 6, "one epoch each, none trained twice");
}

#[test]
fn kill_9_mid_sweep_then_rerun_matches_an_uninterrupted_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, file, db) = start_slow_sweep(dir.path(), "killed", 4, 2);
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // The worker notices its scheduler is gone, records `interrupted` and exits.
    let runs = json(&["runs"], &db);
    let id = runs[0]["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let pid = loop {
        let detail = json(&["show", &id], &db);
        if detail["run"]["status"] == "interrupted" {
            break detail["run"]["worker_pid"].as_u64().unwrap();
        }
        assert!(Instant::now() < deadline, "worker did not stop: {detail}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "worker {pid} still alive");
        std::thread::sleep(Duration::from_millis(100));
    }

    let o = sweep(&file, &db, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let resumed = epoch_rows(&db);
    assert_eq!(resumed.len(), 4, "no duplicate epoch rows");

    let fresh = dir.path().join("fresh.db");
    let o = sweep(&file, &fresh, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(epoch_rows(&fresh), resumed, "resumed sweep equals the uninterrupted one");

    let detail = json(&["show", &id], &db);
    assert_eq!(detail["run"]["status"], "finished");
    let o = std::process::Command::new("sqlite3").arg(&db).arg("PRAGMA integrity_check;").output();
    let o = o.expect("the sqlite3 shell (Debian's sqlite3, in the base image) checks the file independently");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "ok");
}

#[test]
fn invalid_experiments_fail_clearly_and_leave_the_database_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let good = tiny_experiment(dir.path(), "good", 1, "[sweep]\nseeds = [1]\n");
    assert!(sweep(&good, &db, &[]).status.success());
    let digest = || std::fs::read(&db).unwrap();
    let before = digest();
    let cases: &[(&str, &str, &[&str])] = &[
        ("[checkpoint]\nkeep_lst = 1\n", "checkpoint.keep_lst", &[]),
        ("[sweep]\n\"model.levels\" = [2, 300]\n", "model.levels", &[]),
        ("[sweep]\n\"model.levels\" = []\n", "model.levels", &[]),
        ("[sweep]\n\"model.level\" = [2, 4]\n", "model.level", &[]),
        ("[checkpoint\nkeep_last = 1\n", ":", &[]),
        ("[profile.quick.train]\nepochs = 0\n", "train.epochs", &["--profile", "quick"]),
        ("", "train.lr", &["--set", "train.lr=-1"]),
        ("", "train.batch_size", &["--set", "train.batch_size=0"]),
        ("", "train.lr_decay", &["--set", "train.lr_decay=1.5"]),
        ("", "model.blocks", &["--set", "model.blocks=0"]),
        ("", "quik", &["--profile", "quik"]),
    ];
    for (i, (extra, key, args)) in cases.iter().enumerate() {
        let file = tiny_experiment(dir.path(), &format!("bad{i}"), 1, extra);
        let o = sweep(&file, &db, args);
        let t = text(&o);
        assert!(!o.status.success(), "case {i} should fail: {t}");
        assert!(
            t.contains(&format!("bad{i}.toml")) || args.contains(&"--set"),
            "case {i} names the file: {t}"
        );
        assert!(t.contains(key), "case {i} names `{key}`: {t}");
        assert_eq!(digest(), before, "case {i} changed the database");
    }
}

#[test]
fn ctrl_c_stops_workers_which_record_interrupted_and_the_next_sweep_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, file, db) = start_slow_sweep(dir.path(), "ctrlc", 3, 1);
    let killed = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(!status.success(), "an interrupted sweep exits non-zero");
    let runs = json(&["runs"], &db);
    assert_eq!(runs[0]["status"], "interrupted", "{runs}");
    let o = sweep(&file, &db, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(epoch_rows(&db).len(), 3);
    assert_eq!(json(&["runs"], &db)[0]["status"], "finished");
}
