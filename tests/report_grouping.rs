//! The report groups runs by their configuration's identity, not by the swept values alone: one
//! experiment swept plainly and again with a profile that changes unswept keys gives two rows,
//! each with its own recipe and its own seeds, labelled by the profile.

mod common;

use common::{pixelcnn, text, tiny_experiment};

/// The summary table's rows of a report.md (configuration rows, the seed's reference row left out).
fn summary_rows(markdown: &str) -> Vec<Vec<String>> {
    let table = markdown.split("## Summary").nth(1).expect("a summary section");
    table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // the header and its separator
        .map(|l| l.trim_matches('|').split(" | ").map(|c| c.trim().to_owned()).collect())
        .collect()
}

#[test]
fn another_profile_is_another_row_with_its_own_recipe_and_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("results.db");
    let reports = dir.path().join("reports");
    let file = tiny_experiment(
        dir.path(),
        "grouping",
        1,
        "[sweep]\n\"model.levels\" = [2]\nseeds = [1, 2]\n\
         [profile.big.model]\nhidden = 6\nblocks = 2\n",
    );
    let file = file.to_str().unwrap();
    for profile in [None, Some("big")] {
        let mut args =
            vec!["sweep", file, "--db", db.to_str().unwrap(), "--reports-dir", reports.to_str().unwrap()];
        if let Some(p) = profile {
            args.extend(["--profile", p]);
        }
        let out = pixelcnn().args(&args).output().unwrap();
        assert!(out.status.success(), "sweep {profile:?} failed:\n{}", text(&out));
    }
    let markdown = std::fs::read_to_string(reports.join("grouping").join("report.md")).unwrap();
    let rows: Vec<Vec<String>> = summary_rows(&markdown).into_iter().filter(|r| !r[0].is_empty()).collect();
    assert_eq!(rows.len(), 2, "one row per configuration:\n{markdown}");
    let plain = rows.iter().find(|r| r[1].contains("no profile")).expect("the plain sweep's row");
    let big = rows.iter().find(|r| r[1].contains("profile big")).expect("the big profile's row");
    for row in [plain, big] {
        assert_eq!(row[2], "2", "n counts the two seeds of this configuration only: {row:?}");
        assert!(row[9].contains(", 2 seeds,"), "{row:?}");
    }
    assert!(plain[9].contains("1 blocks, h = 4"), "the plain recipe: {plain:?}");
    assert!(big[9].contains("2 blocks, h = 6"), "the big profile's recipe: {big:?}");
    // Curves and pictures sections name both configurations, too.
    let html = std::fs::read_to_string(reports.join("grouping").join("index.html")).unwrap();
    assert!(html.contains("profile big") && html.contains("no profile"), "the HTML labels both");
}

#[test]
fn reruns_of_a_seed_are_not_extra_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("results.db");
    let reports = dir.path().join("reports");
    let file = tiny_experiment(dir.path(), "repeats", 1, "[sweep]\n\"model.levels\" = [2]\nseeds = [1]\n");
    let db_arg = db.to_str().unwrap();
    let out = pixelcnn()
        .args(["sweep", file.to_str().unwrap(), "--db", db_arg, "--reports-dir", reports.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let runs = common::json(&["runs"], &db);
    let id = runs.as_array().unwrap()[0]["id"].as_str().unwrap().to_owned();
    let out = pixelcnn().args(["rerun", &id, "--db", db_arg]).current_dir(dir.path()).output().unwrap();
    assert!(out.status.success(), "rerun failed:\n{}", text(&out));
    let out = pixelcnn()
        .args(["report", "repeats", "--db", db_arg, "--out", reports.join("repeats").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let markdown = std::fs::read_to_string(reports.join("repeats").join("report.md")).unwrap();
    let rows: Vec<Vec<String>> = summary_rows(&markdown).into_iter().filter(|r| !r[0].is_empty()).collect();
    assert_eq!(rows.len(), 1, "{markdown}");
    assert_eq!(rows[0][2], "1", "the rerun verifies seed 1, it is not a second seed: {:?}", rows[0]);
    assert!(rows[0][9].contains(", 1 seed,"), "{:?}", rows[0]);
    assert!(markdown.contains("reruns"), "the rerun is shown as a rerun:\n{markdown}");
}
