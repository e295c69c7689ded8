//! ASHA searches through the real binary: a tiny search prunes the runs its rung rule says it
//! must, trains fewer epochs than the grid, never resumes a pruned run, reports its rungs, and
//! when killed with -9 and restarted ends with the decisions of an uninterrupted search.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{
    epoch_rows, json, pixelcnn, run, run_outcomes as outcomes, rung_decisions as decisions, text,
    tiny_experiment,
};

/// One learning rate that learns in an epoch, then two too small to move the model: the first run
/// reaches the rung at epoch 1 first and goes on; each tiny rate ranks below it there and, with
/// fewer than eta = 3 runs recorded (or rank 2 or 3 of 3), stops.
const SEARCH: &str = "[search]\nstrategy = \"asha\"\nreduction_factor = 3\ngrace_epochs = 1\nmax_epochs = 3\n\
                      [sweep]\n\"train.lr\" = [0.01, 1e-7, 2e-7]\n";

/// The rungs compare the validation NLL: hold out 64 training images.
const VALIDATION: [&str; 2] = ["--set", "data.validation_size=64"];

fn sweep(file: &Path, db: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["sweep", file.to_str().unwrap(), "--db", db.to_str().unwrap()];
    let (runs_dir, reports_dir) = (db.with_extension("runs"), db.with_extension("reports"));
    args.extend(["--runs-dir", runs_dir.to_str().unwrap(), "--reports-dir", reports_dir.to_str().unwrap()]);
    args.extend(VALIDATION);
    args.extend(extra);
    run(&args)
}

fn ok(out: Output) -> String {
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    t
}

#[test]
fn a_tiny_asha_search_prunes_the_poor_runs_and_trains_fewer_epochs_than_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let file = tiny_experiment(dir.path(), "asha", 3, SEARCH);
    let db = dir.path().join("p.db");

    // The plan: three runs, at most the grid's 9 epochs, at least 3 + 1 + 1.
    let mut plan = vec!["plan", file.to_str().unwrap()];
    plan.extend(VALIDATION);
    let planned = ok(run(&plan));
    assert!(planned.contains("search: asha over 3 runs"), "{planned}");
    assert!(planned.contains("7 epochs expected (at least 5, at most 9"), "{planned}");
    assert!(planned.contains("the full grid: 9 epochs (3 runs)"), "{planned}");

    let out = ok(sweep(&file, &db, &[]));
    assert!(out.contains("3 trained (1 finished, 2 pruned, 0 failed"), "{out}");
    let expected: BTreeMap<String, (String, u64)> =
        [("0.01", ("finished", 3)), ("1e-7", ("pruned", 1)), ("2e-7", ("pruned", 1))]
            .into_iter()
            .map(|(lr, (s, e))| (lr.to_owned(), (s.to_owned(), e)))
            .collect();
    assert_eq!(outcomes(&db), expected);
    let trained = epoch_rows(&db).len();
    assert_eq!(trained, 5, "3 + 1 + 1 epochs, against 9 for the grid");

    // The decisions, as the rule gives them: the first arrival goes on; each tiny rate ranks
    // below the good one with fewer than 3 runs recorded (or last of 3), and stops.
    let decided = decisions(&db);
    // (Which tiny rate ranks second of three is theirs to settle; both rank below the good one.)
    let summary: Vec<(&str, u64, &str)> =
        decided.iter().map(|(lr, d)| (lr.as_str(), d[0].4, d[0].5.as_str())).collect();
    assert_eq!(summary, [("0.01", 1, "continue"), ("1e-7", 2, "stop"), ("2e-7", 3, "stop")]);
    assert_eq!((decided["0.01"][0].3, decided["1e-7"][0].3), (1, 2));
    assert!(decided["2e-7"][0].3 >= 2, "{decided:?}");
    assert!(decided.values().all(|d| d.len() == 1 && d[0].0 == 0 && d[0].1 == 1), "{decided:?}");
    // Validation NLL was compared: the good run's is the lowest.
    assert!(decided["0.01"][0].2 < decided["1e-7"][0].2);

    // The report shows the rungs and the survivors' curves.
    let html = std::fs::read_to_string(db.with_extension("reports").join("asha/index.html")).unwrap();
    assert!(html.contains("ASHA rungs") && html.contains("pruned at epoch 1"), "no rungs section");
    assert!(html.contains("trained 5 epochs, against 9"), "no budget line");
    assert!(!html.contains("banner optimistic"), "validation NLL is not optimistic");

    // Running the sweep again resumes nothing, not even with --retry-failed.
    let again = ok(sweep(&file, &db, &["--retry-failed"]));
    assert!(
        again.contains("0 trained")
            && again.contains("already recorded: 1 finished, 0 failed (not retried), 2 pruned"),
        "{again}"
    );
    assert_eq!(outcomes(&db), expected);
    assert_eq!(epoch_rows(&db).len(), trained);
    let pruned = json(&["runs", "--status", "pruned"], &db);
    assert_eq!(pruned.as_array().unwrap().len(), 2);
    let shown = ok(run(&["show", pruned[0]["id"].as_str().unwrap(), "--db", db.to_str().unwrap()]));
    assert!(shown.contains("(pruned)"), "{shown}");
    assert!(shown.contains("rank 2 of 2") || shown.contains("rank 3 of 3"), "{shown}");
}

#[test]
fn without_a_validation_split_the_search_is_refused_unless_the_test_set_is_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let file = tiny_experiment(dir.path(), "asha-test", 3, SEARCH);
    let db = dir.path().join("p.db");
    let o = run(&["sweep", file.to_str().unwrap(), "--db", db.to_str().unwrap(), "--no-report"]);
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(
        t.contains("asha-test.toml") && t.contains("search.metric") && t.contains("validation_size"),
        "{t}"
    );
    assert!(!db.exists(), "refused before the database is touched");
    // Chosen explicitly, the test set is allowed; plan and report say it is optimistic.
    let optimistic = tiny_experiment(
        dir.path(),
        "asha-test",
        3,
        &SEARCH.replace("max_epochs = 3", "max_epochs = 3\nmetric = \"test_nll\""),
    );
    let planned = ok(run(&["plan", optimistic.to_str().unwrap()]));
    assert!(planned.contains("optimistic"), "{planned}");
}

/// Starts an ASHA sweep of `file` on `db` that the test will kill.
fn start(file: &Path, db: &Path) -> std::process::Child {
    pixelcnn()
        .args(["sweep", file.to_str().unwrap(), "--db", db.to_str().unwrap(), "--no-report"])
        .args(["--runs-dir", db.with_extension("runs").to_str().unwrap()])
        .args(VALIDATION)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until no run of `db` is running any more and its worker processes have exited.
fn wait_for_workers(db: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = json(&["runs"], db);
        let running: Vec<&serde_json::Value> =
            runs.as_array().unwrap().iter().filter(|r| r["status"] == "running").collect();
        if running.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "workers did not stop: {runs}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The last worker's process may still be closing its store.
    std::thread::sleep(Duration::from_millis(500));
}

#[test]
fn a_search_killed_with_9_and_restarted_makes_the_same_decisions() {
    let dir = tempfile::tempdir().unwrap();
    // Five learning rates, slower epochs so that the kill lands inside the search.
    let search = SEARCH.replace("[0.01, 1e-7, 2e-7]", "[1e-7, 0.01, 2e-7, 0.02, 0.005]");
    let file = tiny_experiment(dir.path(), "asha-kill", 3, &search);
    let slow = std::fs::read_to_string(&file).unwrap().replace("train_limit = 512", "train_limit = 2048");
    std::fs::write(&file, slow).unwrap();
    let db = dir.path().join("killed.db");
    let mut child = start(&file, &db);
    // Kill once the search has gone past its first few rung decisions.
    let deadline = Instant::now() + Duration::from_secs(300);
    while !(db.exists() && epoch_rows(&db).len() >= 4) {
        assert!(Instant::now() < deadline, "the search never got going");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    wait_for_workers(&db);
    let killed = outcomes(&db);
    assert!(
        killed.len() < 5 || killed.values().any(|(s, _)| s == "interrupted"),
        "killed too late: {killed:?}"
    );

    ok(run(&[
        "sweep",
        file.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--runs-dir",
        db.with_extension("runs").to_str().unwrap(),
        "--no-report",
        VALIDATION[0],
        VALIDATION[1],
    ]));
    let fresh: PathBuf = dir.path().join("fresh.db");
    ok(sweep(&file, &fresh, &["--no-report"]));
    assert_eq!(decisions(&db), decisions(&fresh), "restarted equals uninterrupted");
    assert_eq!(outcomes(&db), outcomes(&fresh));
    assert_eq!(epoch_rows(&db), epoch_rows(&fresh), "the same epochs, none trained twice");
    assert_eq!(outcomes(&fresh)["2e-7"].0, "pruned", "{:?}", outcomes(&fresh));
}

#[test]
fn plan_sets_a_random_search_against_its_full_grid() {
    let dir = tempfile::tempdir().unwrap();
    let search = "[search]\nstrategy = \"random\"\ntrials = 2\nseed = 5\n[sweep]\n\"train.lr\" = [0.01, 0.005, 0.001]\n";
    let file = tiny_experiment(dir.path(), "random", 3, search);
    let planned = ok(run(&["plan", file.to_str().unwrap()]));
    assert!(planned.contains("2 runs"), "{planned}");
    assert!(planned.contains("search: random over 2 runs (2 trials drawn with seed 5)"), "{planned}");
    assert!(planned.contains("budget: 6 epochs; the full grid: 9 epochs (3 runs)"), "{planned}");
    // The same file plans the same trials.
    assert_eq!(ok(run(&["plan", file.to_str().unwrap()])), planned);
    let continuous = search.replace("[0.01, 0.005, 0.001]", "{ log = [1e-3, 1e-2] }");
    let file = tiny_experiment(dir.path(), "random", 3, &continuous);
    let planned = ok(run(&["plan", file.to_str().unwrap()]));
    assert!(planned.contains("no full grid to compare with (a range is continuous)"), "{planned}");
}
