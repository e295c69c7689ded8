//! Runs managed after the fact through the real binary: tags and notes (shown by `runs`, `show`
//! and the report), `runs` filters, sorting and formats, and `rm`, which deletes rows, pictures,
//! checkpoints and run folders but refuses a run that trains.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{json, pixelcnn, run, text, tiny_experiment};

/// Sweeps `file` into `db`, runs under `db.runs/`; panics unless it succeeds.
fn sweep(file: &Path, db: &Path) -> PathBuf {
    let runs_dir = db.with_extension("runs");
    let o = run(&[
        "sweep",
        file.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--runs-dir",
        runs_dir.to_str().unwrap(),
        "--no-report",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    runs_dir
}

/// `pixelcnn <args> --db DB`, which must succeed: its stdout.
fn ok(args: &[&str], db: &Path) -> String {
    let mut all = args.to_vec();
    all.extend(["--db", db.to_str().unwrap()]);
    let o = run(&all);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// The ids of `runs` with extra arguments, in the order printed.
fn ids(extra: &[&str], db: &Path) -> Vec<String> {
    let mut args = vec!["runs"];
    args.extend(extra);
    json(&args, db).as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

/// Run id -> its final test bits/dim.
fn bits(db: &Path) -> Vec<(String, f64)> {
    json(&["runs"], db)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r["last_test_bits_per_dim"].as_f64().unwrap()))
        .collect()
}

#[test]
fn tags_notes_filters_and_sorting() {
    let dir = tempfile::tempdir().unwrap();
    let file =
        tiny_experiment(dir.path(), "manage", 1, "[sweep]\n\"model.levels\" = [2, 4]\nseeds = [1, 2]\n");
    let db = dir.path().join("p.db");
    sweep(&file, &db);
    let all = bits(&db);
    assert_eq!(all.len(), 4);
    let (first, second) = (&all[0].0, &all[1].0);

    // Tags: added with + (or bare), removed with -, printed after each edit.
    let said = ok(&["tag", &first[..8], "+best", "draft", "q-two"], &db);
    assert!(said.contains("best, draft, q-two"), "{said}");
    let said = ok(&["tag", &first[..8], "-draft"], &db);
    assert!(said.contains("best, q-two") && !said.contains("draft"), "{said}");
    ok(&["tag", second, "+best"], &db);
    let bad = run(&["tag", first, "+two words", "--db", db.to_str().unwrap()]);
    assert!(!bad.status.success() && text(&bad).contains("two words"), "{}", text(&bad));
    // A note, and an empty note clears it.
    ok(&["note", first, "lr too high? <b>bold</b>"], &db);
    ok(&["note", second, "temporary"], &db);
    ok(&["note", second, ""], &db);
    let runs = json(&["runs"], &db);
    let by_id = |id: &str| runs.as_array().unwrap().iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(by_id(first)["tags"], serde_json::json!(["best", "q-two"]));
    assert_eq!(by_id(first)["note"], "lr too high? <b>bold</b>");
    assert!(by_id(second)["note"].is_null());
    let shown = ok(&["show", first], &db);
    assert!(
        shown.contains("tags        best, q-two") && shown.contains("note        lr too high?"),
        "{shown}"
    );
    let table = ok(&["runs"], &db);
    assert!(table.contains("best,q-two") && table.contains("lr too high?"), "{table}");

    // Filters: a tag, a swept value, a threshold on the last epoch's numbers, a status.
    assert_eq!(ids(&["--tag", "best"], &db), [first.clone(), second.clone()]);
    let q4: Vec<String> = ids(&["--where", "model.levels=4"], &db);
    assert_eq!(q4.len(), 2);
    let median = {
        let mut b: Vec<f64> = all.iter().map(|(_, b)| *b).collect();
        b.sort_by(f64::total_cmp);
        (b[1] + b[2]) / 2.0
    };
    let below: Vec<String> = all.iter().filter(|(_, b)| *b < median).map(|(id, _)| id.clone()).collect();
    assert_eq!(ids(&["--where", &format!("test_bits_per_dim<{median}")], &db), below);
    assert_eq!(ids(&["--where", "status!=finished"], &db), Vec::<String>::new());
    let bad = run(&["runs", "--where", "status<finished", "--db", db.to_str().unwrap()]);
    assert!(!bad.status.success() && text(&bad).contains("status<finished"), "{}", text(&bad));

    // Sorting and --top: the best two by test bits/dim, then the worst.
    let mut sorted = all.clone();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
    let best_two: Vec<String> = sorted[..2].iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids(&["--sort", "test_bits_per_dim", "--top", "2"], &db), best_two);
    assert_eq!(ids(&["--sort", "test_bits_per_dim", "--desc", "--top", "1"], &db), [sorted[3].0.clone()]);

    // CSV: full ids, one row per run, with the labels.
    let csv = ok(&["runs", "--format", "csv", "--tag", "best"], &db);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("id,experiment,status") && lines[0].contains("tags,note"), "{csv}");
    assert!(lines[1].starts_with(first.as_str()) && lines[1].contains("lr too high?"), "{csv}");

    // Compare takes any few runs, the first the baseline.
    let cmp = dir.path().join("cmp");
    let (third, fourth) = (&all[2].0, &all[3].0);
    let table = ok(&["compare", first, second, third, fourth, "--out", cmp.to_str().unwrap()], &db);
    let header = table.lines().next().unwrap();
    for column in ["A ", "B ", "C ", "D ", "B - A", "C - A", "D - A"] {
        assert!(header.contains(column), "{column:?} missing: {header}");
    }
    let final_row = table.lines().find(|l| l.starts_with("final test bits/dim")).unwrap();
    let delta = all[3].1 - all[0].1;
    assert!(final_row.contains(&format!("{delta:+.4}")), "D - A is {delta:+.4}: {final_row}");
    let page = std::fs::read_to_string(cmp.join("index.html")).unwrap();
    assert!(page.contains(&fourth[..8]) && page.contains("D test bits"), "the page holds all four");
    let twice = run(&["compare", first, &first[..8], "--db", db.to_str().unwrap()]);
    assert!(!twice.status.success() && text(&twice).contains("named twice"), "{}", text(&twice));
    let alone = run(&["compare", first, "--db", db.to_str().unwrap()]);
    assert!(!alone.status.success(), "{}", text(&alone));

    // The report shows the labels, escaped.
    let out = dir.path().join("report");
    ok(&["report", "manage", "--out", out.to_str().unwrap()], &db);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("tags best, q-two") && html.contains("lr too high?"), "labels in the report");
    assert!(!html.contains("<b>bold</b>"), "a note is escaped");
}

#[test]
fn rm_deletes_runs_with_their_files_and_asks_first() {
    let dir = tempfile::tempdir().unwrap();
    let file = tiny_experiment(dir.path(), "doomed", 2, "[sweep]\nseeds = [1, 2]\n");
    // Pictures every epoch, so that there are some to delete.
    let with_pictures = std::fs::read_to_string(&file)
        .unwrap()
        .replace("count = 0\ncomplete = 0", "count = 4\ncomplete = 1\nevery = 1");
    std::fs::write(&file, with_pictures).unwrap();
    let db = dir.path().join("p.db");
    let runs_dir = sweep(&file, &db);
    let runs = ids(&[], &db);
    let (gone, kept) = (&runs[0], &runs[1]);
    let folder = runs_dir.join("doomed").join(gone);
    assert!(folder.join("checkpoints").is_dir(), "the run trained in {}", folder.display());

    // A dry run lists and deletes nothing; without a terminal and without --yes nothing goes.
    let said = ok(&["rm", gone, "--dry-run", "--runs-dir", runs_dir.to_str().unwrap()], &db);
    assert!(said.contains("would delete") && said.contains(&folder.display().to_string()), "{said}");
    let o = pixelcnn()
        .args(["rm", gone, "--db", db.to_str().unwrap(), "--runs-dir", runs_dir.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!o.status.success() && text(&o).contains("--yes"), "{}", text(&o));
    assert_eq!(ids(&[], &db).len(), 2);
    assert!(folder.is_dir());

    ok(&["rm", &gone[..8], "--yes", "--runs-dir", runs_dir.to_str().unwrap()], &db);
    assert_eq!(ids(&[], &db), std::slice::from_ref(kept));
    assert!(!folder.exists(), "the run folder went");
    assert!(runs_dir.join("doomed").join(kept).is_dir(), "the other run's folder stays");
    let metrics = ok(&["metrics", "--format", "json"], &db);
    assert!(!metrics.contains(gone.as_str()), "its epochs went");
    let o = run(&["show", gone, "--db", db.to_str().unwrap()]);
    assert!(!o.status.success(), "{}", text(&o));
    // Nothing is left for gc: its checkpoint rows were marked deleted with the files.
    let gc = ok(&["gc", "--dry-run"], &db);
    assert!(!gc.contains(gone.as_str()), "{gc}");

    // A whole experiment: its runs and its record.
    ok(&["rm", "--experiment", "doomed", "--yes", "--runs-dir", runs_dir.to_str().unwrap()], &db);
    assert!(ids(&[], &db).is_empty());
    let o = run(&["report", "doomed", "--db", db.to_str().unwrap(), "--out", "unused"]);
    assert!(!o.status.success() && text(&o).contains("recorded: none"), "{}", text(&o));
    let o = run(&["rm", "--experiment", "doomed", "--yes", "--db", db.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("no experiment named"), "{}", text(&o));
}

#[test]
fn rm_refuses_a_run_that_trains() {
    let dir = tempfile::tempdir().unwrap();
    let file = tiny_experiment(dir.path(), "busy", 50, "[sweep]\nseeds = [7]\n");
    let slow = std::fs::read_to_string(&file).unwrap().replace("train_limit = 512", "train_limit = 4096");
    std::fs::write(&file, slow).unwrap();
    let db = dir.path().join("p.db");
    let mut child = pixelcnn()
        .args(["sweep", file.to_str().unwrap(), "--db", db.to_str().unwrap(), "--no-report"])
        .args(["--runs-dir", dir.path().join("runs").to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let running = loop {
        assert!(Instant::now() < deadline, "the run never started");
        if db.exists() {
            let o = run(&["runs", "--status", "running", "--db", db.to_str().unwrap(), "--json"]);
            let listed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
            if let Some(id) = listed.as_array().and_then(|a| a.first()).and_then(|r| r["id"].as_str()) {
                break id.to_owned();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let o = run(&["rm", &running, "--yes", "--db", db.to_str().unwrap()]);
    let said = text(&o);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!o.status.success() && said.contains("live lease") && said.contains(&running), "{said}");
    assert_eq!(ids(&[], &db), [running]);
}
