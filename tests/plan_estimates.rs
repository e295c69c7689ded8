//! `plan`'s time estimates come from what this machine measured: after a sweep, the same file's
//! estimate is within 30% of the training time its runs recorded; before any run, `--probe`
//! times a few steps, and without it the documented constants are used and said to be.

mod common;

use common::{pixelcnn, run, text, tiny_experiment};

/// The seconds of `estimated total: X s` in a plan's output.
fn estimated_seconds(plan: &str) -> f64 {
    let line = plan.lines().find(|l| l.starts_with("estimated total: ")).expect("an estimate line");
    let words: Vec<&str> = line["estimated total: ".len()..].split_whitespace().collect();
    let value: f64 = words[0].parse().unwrap_or_else(|_| panic!("a number in {line}"));
    match words[1].trim_end_matches(',') {
        "s" => value,
        "min" => value * 60.0,
        "h" => value * 3600.0,
        unit => panic!("unit {unit} in {line}"),
    }
}

fn plan(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "plan {args:?} failed:\n{}", text(&out));
    text(&out)
}

#[test]
fn after_a_sweep_plan_estimates_from_the_recorded_speeds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("results.db");
    // Enough images that an epoch takes a measurable time, no pictures (not part of an epoch).
    let file = tiny_experiment(dir.path(), "speeds", 2, "[sweep]\n\"model.levels\" = [2, 4]\n")
        .to_str()
        .unwrap()
        .to_owned();
    std::fs::write(
        &file,
        std::fs::read_to_string(&file).unwrap().replace("train_limit = 512", "train_limit = 2048"),
    )
    .unwrap();
    let db_arg = db.to_str().unwrap();

    let before = plan(&["plan", &file, "--db", db_arg]);
    assert!(before.contains("speeds: assumed for 2 run(s)"), "{before}");
    assert!(!db.exists(), "plan created the database");

    let out = pixelcnn().args(["sweep", &file, "--db", db_arg, "--no-report"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let metrics = run(&["metrics", "--db", db_arg, "--format", "json"]);
    let recorded: f64 = serde_json::from_slice::<serde_json::Value>(&metrics.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["seconds"].as_f64().expect("seconds per epoch"))
        .sum();

    let after = plan(&["plan", &file, "--db", db_arg]);
    assert!(after.contains("speeds: recorded by 1 finished run(s) for 2 run(s)"), "{after}");
    let estimate = estimated_seconds(&after);
    assert!(
        (estimate - recorded).abs() <= 0.3 * recorded,
        "estimate {estimate:.2} s against {recorded:.2} s recorded:\n{after}"
    );
}

#[test]
fn probe_times_the_models_that_nothing_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let file = tiny_experiment(dir.path(), "probe", 1, "[sweep]\n\"model.levels\" = [2]\nseeds = [1, 2]\n");
    let db = dir.path().join("none.db");
    let out = plan(&["plan", file.to_str().unwrap(), "--db", db.to_str().unwrap(), "--probe"]);
    assert!(out.contains("speeds: probed for 2 run(s)"), "{out}");
    assert_eq!(out.matches("probing the training speed").count(), 1, "one probe per model:\n{out}");
    assert!(!db.exists());
}
