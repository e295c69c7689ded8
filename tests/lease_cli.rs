//! Run ownership through the real binary: a worker frozen (SIGSTOP) past `--stale-after` loses its
//! run to a second sweep, and once it wakes up (SIGCONT) it stops without writing anything; the
//! run ends with the numbers of an uninterrupted one.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{epoch_rows, json, pixelcnn, run, text, tiny_experiment};

/// Starts `pixelcnn sweep` in the background with info logs written to `log`.
fn spawn_sweep(file: &Path, db: &Path, log: &Path, extra: &[&str]) -> Child {
    let runs_dir = db.with_extension("runs");
    pixelcnn()
        .env("RUST_LOG", "info")
        .args(["sweep", file.to_str().unwrap(), "--db", db.to_str().unwrap()])
        .args(["--runs-dir", runs_dir.to_str().unwrap(), "--no-report"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn signal(pid: u64, name: &str) {
    let sent = std::process::Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status();
    assert!(sent.unwrap().success(), "kill -{name} {pid}");
}

/// Polls the run until `until` holds for its `show --json` record.
fn wait_for(
    db: &Path,
    id: &str,
    what: &str,
    until: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let detail = json(&["show", id], db);
        if until(&detail) {
            return detail;
        }
        assert!(Instant::now() < deadline, "{what} never happened: {detail}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Lines of a sweep log that report a recorded epoch.
fn epoch_lines(log: &str) -> usize {
    log.lines().filter(|l| l.contains(" epoch ") && l.contains("bits/dim")).count()
}

#[test]
fn a_frozen_worker_whose_run_was_taken_over_stops_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let file = tiny_experiment(dir.path(), "frozen", 4, "[sweep]\nseeds = [7]\n");
    let slow = std::fs::read_to_string(&file).unwrap().replace("train_limit = 512", "train_limit = 4096");
    std::fs::write(&file, slow).unwrap();
    let db = dir.path().join("p.db");
    let beats = ["--heartbeat-every", "1", "--stale-after", "3"];

    let first_log = dir.path().join("first.log");
    let mut first = spawn_sweep(&file, &db, &first_log, &beats);
    let deadline = Instant::now() + Duration::from_secs(120);
    while !db.exists() || epoch_rows(&db).is_empty() {
        assert!(Instant::now() < deadline, "the first epoch never finished");
        std::thread::sleep(Duration::from_millis(100));
    }
    let id = json(&["runs"], &db)[0]["id"].as_str().unwrap().to_owned();
    let frozen = json(&["show", &id], &db)["run"]["worker_pid"].as_u64().unwrap();
    signal(frozen, "STOP");
    // Counted once the worker is frozen: it cannot record anything more on its own.
    let recorded_before = epoch_rows(&db).len();

    // Past the stale limit a second sweep takes the run over and resumes it in its own worker.
    std::thread::sleep(Duration::from_secs(4));
    let second_log = dir.path().join("second.log");
    let mut second = spawn_sweep(&file, &db, &second_log, &beats);
    // The claim records the scheduler; its worker then records itself.
    let scheduler = u64::from(second.id());
    let taken = wait_for(&db, &id, "the takeover", |d| {
        d["run"]["status"] == "running"
            && d["run"]["worker_pid"].as_u64().is_some_and(|p| p != frozen && p != scheduler)
    });
    let successor = taken["run"]["worker_pid"].as_u64().unwrap();

    // The frozen worker wakes up: it must stop at once, and its sweep must leave the run alone.
    signal(frozen, "CONT");
    let first_status = first.wait().unwrap();
    let first_text = std::fs::read_to_string(&first_log).unwrap();
    assert!(first_text.contains("lease lost"), "the woken worker says why it stops: {first_text}");
    assert!(first_text.contains("taken over by another sweep"), "{first_text}");
    assert!(first_status.success(), "a taken-over run is no failure of the first sweep: {first_text}");
    assert_eq!(
        epoch_lines(&first_text),
        recorded_before,
        "the woken worker recorded no epoch after the takeover: {first_text}"
    );
    let during = json(&["show", &id], &db);
    assert_eq!(during["run"]["worker_pid"].as_u64(), Some(successor), "{during}");
    assert_ne!(during["run"]["status"], "failed", "the first sweep did not end the successor's run");

    let second_status = second.wait().unwrap();
    let second_text = std::fs::read_to_string(&second_log).unwrap();
    assert!(second_status.success(), "{second_text}");
    let done = json(&["show", &id], &db);
    assert_eq!(done["run"]["status"], "finished", "{done}");
    assert_eq!(done["run"]["worker_pid"].as_u64(), Some(successor));
    let resumed = epoch_rows(&db);
    assert_eq!(resumed.len(), 4, "every epoch once, no duplicate rows");
    assert!(!Path::new(&format!("/proc/{frozen}")).exists(), "the woken worker has exited");

    // The same run, uninterrupted, gives the same numbers.
    let fresh = dir.path().join("fresh.db");
    let runs_dir = fresh.with_extension("runs");
    let o = run(&[
        "sweep",
        file.to_str().unwrap(),
        "--db",
        fresh.to_str().unwrap(),
        "--runs-dir",
        runs_dir.to_str().unwrap(),
        "--no-report",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(epoch_rows(&fresh), resumed, "taken-over run equals an uninterrupted one");
}

#[test]
fn a_heartbeat_interval_too_close_to_the_stale_limit_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = tiny_experiment(dir.path(), "beats", 1, "[sweep]\nseeds = [1]\n");
    let db = dir.path().join("p.db");
    let o = run(&[
        "sweep",
        file.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--heartbeat-every",
        "30",
        "--stale-after",
        "60",
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("--heartbeat-every"), "{}", text(&o));
    assert!(!db.exists(), "nothing was written");
}
