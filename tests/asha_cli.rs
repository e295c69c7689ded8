//! Successive-halving searches through the real binary. ASHA: a tiny search prunes the runs its
//! rung rule says it must for the order the runs arrive in (the search's seeded claim order),
//! trains fewer epochs than the grid, never resumes a pruned run, reports its rungs, and trains
//! about the budget `plan` expects. SHA: runs wait at each rung, exactly the best 1/eta go on,
//! and the budget is the one `plan` prints. Both, killed with -9 and restarted, end with the
//! decisions of an uninterrupted search.

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

/// Sweeps `file` into `db` (runs and reports beside it) with the validation split.
fn sweep(file: &Path, db: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["sweep", file.to_str().unwrap(), "--db", db.to_str().unwrap()];
    let (runs_dir, reports_dir) = (db.with_extension("runs"), db.with_extension("reports"));
    args.extend(["--runs-dir", runs_dir.to_str().unwrap(), "--reports-dir", reports_dir.to_str().unwrap()]);
    args.extend(VALIDATION);
    args.extend(extra);
    // Info logs: the claim order and the pauses at the rungs are logged.
    pixelcnn().env("RUST_LOG", "info").args(&args).output().unwrap()
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
    let decided = decisions(&db);
    assert!(decided.values().all(|d| d.len() == 1 && d[0].0 == 0 && d[0].1 == 1), "{decided:?}");
    // The runs arrived at the rung in the search's claim order, which the sweep logged.
    let order = arrival_order(&decided);
    let runs = json(&["runs"], &db);
    let hash_of: BTreeMap<String, String> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["varying"]["train.lr"].to_string(), r["config_hash"].as_str().unwrap()[..8].to_owned()))
        .collect();
    let logged: Vec<&str> = order.iter().map(|lr| hash_of[lr].as_str()).collect();
    assert!(out.contains(&format!("seeded order: {}", logged.join(" "))), "{order:?} {logged:?}\n{out}");

    // Each decision is the asynchronous rule's for that arrival order: among the k runs
    // recorded at the rung, a run goes on when it ranks within the best max(1, k / 3).
    let mut expected = BTreeMap::new();
    for (k, lr) in order.iter().enumerate() {
        let (value, rank, recorded, decision) = {
            let d = &decided[lr][0];
            (d.2, d.3, d.4, d.5.clone())
        };
        let earlier_better = order[..k].iter().filter(|other| decided[*other][0].2 < value).count() as u64;
        assert_eq!((recorded, rank), (k as u64 + 1, earlier_better + 1), "{lr}: {decided:?}");
        let goes_on = rank <= ((k as u64 + 1) / 3).max(1);
        assert_eq!(decision, if goes_on { "continue" } else { "stop" }, "{lr}: {decided:?}");
        let outcome = if goes_on { ("finished", 3) } else { ("pruned", 1) };
        expected.insert(lr.clone(), (outcome.0.to_owned(), outcome.1));
    }
    assert_eq!(outcomes(&db), expected);
    let finished = expected.values().filter(|(s, _)| s == "finished").count();
    assert!(
        out.contains(&format!("3 trained ({finished} finished, {} pruned, 0 failed", 3 - finished)),
        "{out}"
    );
    // The first arrival always goes on, and the good rate outranks both tiny ones wherever it
    // arrives: at most the 0.01 run and the first arrival finish.
    assert_eq!(expected["0.01"].0, "finished", "{decided:?}");
    assert!(finished <= 2, "{decided:?}");
    let trained = epoch_rows(&db).len();
    assert_eq!(
        trained as u64,
        expected.values().map(|(_, e)| e).sum::<u64>(),
        "3 epochs per survivor, 1 per pruned run"
    );
    assert!(trained < 9, "fewer than the grid's 9 epochs");
    // Validation NLL was compared: the good run's is the lowest.
    assert!(decided["0.01"][0].2 < decided["1e-7"][0].2 && decided["0.01"][0].2 < decided["2e-7"][0].2);

    // The report shows the rungs and the survivors' curves.
    let html = std::fs::read_to_string(db.with_extension("reports").join("asha/index.html")).unwrap();
    assert!(
        html.contains("ASHA (asynchronous promotion)") && html.contains("pruned at epoch 1"),
        "no rungs section"
    );
    assert!(html.contains(&format!("trained {trained} epochs, against 9")), "no budget line");
    assert!(!html.contains("banner optimistic"), "validation NLL is not optimistic");

    // Running the sweep again resumes nothing, not even with --retry-failed.
    let again = ok(sweep(&file, &db, &["--retry-failed"]));
    assert!(
        again.contains("0 trained")
            && again.contains(&format!(
                "already recorded: {finished} finished, 0 failed (not retried), {} pruned",
                3 - finished
            )),
        "{again}"
    );
    assert_eq!(outcomes(&db), expected);
    assert_eq!(epoch_rows(&db).len(), trained);
    let pruned = json(&["runs", "--status", "pruned"], &db);
    assert_eq!(pruned.as_array().unwrap().len(), 3 - finished);
    let shown = ok(run(&["show", pruned[0]["id"].as_str().unwrap(), "--db", db.to_str().unwrap()]));
    assert!(shown.contains("(pruned)"), "{shown}");
    assert!(
        shown.contains("rank 2 of 2") || shown.contains("rank 2 of 3") || shown.contains("rank 3 of 3"),
        "{shown}"
    );
}

/// The swept learning rates in the order their runs reached the first rung (its `recorded` count).
fn arrival_order(decided: &BTreeMap<String, Vec<common::RungDecision>>) -> Vec<String> {
    let mut order: Vec<(u64, String)> = decided.iter().map(|(lr, d)| (d[0].4, lr.clone())).collect();
    order.sort();
    order.into_iter().map(|(_, lr)| lr).collect()
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
            // A worker records its end before it closes the store and exits: wait for the exits.
            let pids: Vec<u64> =
                runs.as_array().unwrap().iter().filter_map(|r| r["worker_pid"].as_u64()).collect();
            while let Some(pid) = pids.iter().find(|pid| Path::new(&format!("/proc/{pid}")).exists()) {
                assert!(Instant::now() < deadline, "worker {pid} still alive");
                std::thread::sleep(Duration::from_millis(50));
            }
            break;
        }
        assert!(Instant::now() < deadline, "workers did not stop: {runs}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_asha_search_killed_with_9_and_restarted_makes_the_same_decisions() {
    killed_and_restarted_decides_the_same("asha");
}

#[test]
fn an_sha_search_killed_with_9_and_restarted_makes_the_same_decisions() {
    killed_and_restarted_decides_the_same("sha");
}

/// Kills a search of `strategy` with -9 inside its rungs, restarts it, and compares it with an
/// uninterrupted one.
fn killed_and_restarted_decides_the_same(strategy: &str) {
    let dir = tempfile::tempdir().unwrap();
    // Five learning rates, slower epochs so that the kill lands inside the search.
    let search = SEARCH
        .replace("[0.01, 1e-7, 2e-7]", "[1e-7, 0.01, 2e-7, 0.02, 0.005]")
        .replace("\"asha\"", &format!("\"{strategy}\""));
    let name = format!("{strategy}-kill");
    let file = tiny_experiment(dir.path(), &name, 3, &search);
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
        // A run still queued (a decision continued it, no worker has claimed it yet) is as much
        // inside the search as one interrupted or paused.
        killed.len() < 5
            || killed.values().any(|(s, _)| matches!(s.as_str(), "interrupted" | "paused" | "queued")),
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
    assert!(outcomes(&fresh).values().any(|(s, _)| s == "pruned"), "{:?}", outcomes(&fresh));
}

/// The number in `plan`'s "budget: N epochs expected" or "budget: N epochs exactly".
fn planned_epochs(planned: &str) -> f64 {
    let after = &planned[planned.find("budget: ").expect("a budget line") + "budget: ".len()..];
    after.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn an_asha_search_trains_about_what_plan_expects() {
    let dir = tempfile::tempdir().unwrap();
    // lr-search's shape, smaller: nine log-spaced rates, one rung at epoch 1, eta = 3.
    let search = SEARCH.replace("[0.01, 1e-7, 2e-7]", "{ log = [1e-4, 1e-2], num = 9 }");
    let file = tiny_experiment(dir.path(), "asha-budget", 3, &search);
    let db = dir.path().join("b.db");
    let mut plan = vec!["plan", file.to_str().unwrap()];
    plan.extend(VALIDATION);
    let planned = ok(run(&plan));
    let expected = planned_epochs(&planned);
    assert!(planned.contains("claimed in a seeded random order"), "{planned}");
    ok(sweep(&file, &db, &["--no-report"]));
    let trained = epoch_rows(&db).len() as f64;
    assert!(
        (trained - expected).abs() <= 0.25 * expected,
        "trained {trained} epochs, plan expected {expected}:\n{planned}"
    );
    assert!(trained < 27.0, "fewer than the grid's 27 epochs");
}

/// SHA over four rates, eta = 2: rungs at epochs 1 and 2, survivors to epoch 4. Exactly two of
/// four go on at the first rung and one of those two at the second: 4 + 2 + 2 = 8 epochs.
const SHA: &str = "[search]\nstrategy = \"sha\"\nreduction_factor = 2\ngrace_epochs = 1\nmax_epochs = 4\n\
                   [sweep]\n\"train.lr\" = [0.01, 1e-7, 2e-7, 0.005]\n";

#[test]
fn an_sha_search_waits_at_each_rung_and_trains_exactly_its_planned_budget() {
    let dir = tempfile::tempdir().unwrap();
    let file = tiny_experiment(dir.path(), "sha", 4, SHA);
    let mut plan = vec!["plan", file.to_str().unwrap()];
    plan.extend(VALIDATION);
    let planned = ok(run(&plan));
    assert!(planned.contains("search: sha over 4 runs"), "{planned}");
    assert!(planned.contains("budget: 8 epochs exactly (synchronous successive halving)"), "{planned}");
    assert_eq!(planned_epochs(&planned), 8.0);

    let db = dir.path().join("s.db");
    let out = ok(sweep(&file, &db, &[]));
    assert_eq!(epoch_rows(&db).len(), 8, "the planned budget, exactly");
    assert!(
        out.contains("4 trained (1 finished, 3 pruned, 0 failed, 0 interrupted, 0 paused at a rung)"),
        "{out}"
    );
    // Runs waited at the rungs, paused, and the ones that went on resumed from their checkpoints.
    assert!(out.contains("paused at a rung until every configuration has reported there"), "{out}");
    assert!(out.contains("Resume from epoch 1"), "{out}");

    // Each rung was decided over every configuration still in the search, at once: exactly the
    // best half (by validation NLL) went on.
    let decided = decisions(&db);
    for rung in 0..2u64 {
        let at: Vec<(&String, &common::RungDecision)> =
            decided.iter().filter_map(|(lr, d)| d.iter().find(|x| x.0 == rung).map(|x| (lr, x))).collect();
        let n = [4, 2][rung as usize];
        assert_eq!(at.len(), n, "rung {rung}: {decided:?}");
        assert!(at.iter().all(|(_, d)| d.4 == n as u64), "all {n} recorded when decided: {decided:?}");
        let mut by_value = at.clone();
        by_value.sort_by(|a, b| a.1.2.total_cmp(&b.1.2));
        for (place, (lr, d)) in by_value.iter().enumerate() {
            let goes_on = place < n / 2;
            assert_eq!(
                (d.3, d.5.as_str()),
                (place as u64 + 1, if goes_on { "continue" } else { "stop" }),
                "{lr}"
            );
        }
    }
    let mut ends: Vec<(String, u64)> = outcomes(&db).into_values().collect();
    ends.sort();
    assert_eq!(
        ends,
        [("finished".into(), 4), ("pruned".into(), 1), ("pruned".into(), 1), ("pruned".into(), 2)]
    );
    assert_eq!(outcomes(&db)["0.01"].0, "finished", "{decided:?}");
    let html = std::fs::read_to_string(db.with_extension("reports").join("sha/index.html")).unwrap();
    assert!(html.contains("trained 8 epochs, against 16"), "no budget line");
    assert!(html.contains("SHA (synchronous successive halving)"), "the rule the rungs followed");

    // Two workers at once decide the same: the decisions do not depend on arrival order.
    let parallel = dir.path().join("p.db");
    ok(sweep(&file, &parallel, &["--no-report", "--parallel", "2"]));
    assert_eq!(decisions(&parallel), decided);
    assert_eq!(epoch_rows(&parallel), epoch_rows(&db));
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
