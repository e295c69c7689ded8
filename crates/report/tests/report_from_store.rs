//! Reports built from a database filled here: statistics over seeds, reference rows, partial and
//! failed runs, escaping of hostile strings, and Markdown links that all resolve.

mod common;

use std::path::Path;

use common::{claim, epoch, new_run};
use pixelcnn_record::{ArtefactKind, RunStatus};
use pixelcnn_report::{ExperimentData, Note, Report, Spread};
use pixelcnn_store::{ArtefactContent, NewArtefact, Store, url_from_path};
use serde_json::json;

const LN_2: f64 = std::f64::consts::LN_2;

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    store: Store,
    experiment_id: String,
}

impl Fixture {
    async fn new(name: &str, description: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let store = Store::open(&url_from_path(&root.join("results.db"))).await.unwrap();
        let experiment_id = store.record_experiment(name, description).await.unwrap();
        Fixture { _dir: dir, root, store, experiment_id }
    }

    /// Claims a run of `varying` (plus the seed) and records `finals` as its epochs' test NLLs.
    async fn run(
        &self,
        varying: serde_json::Value,
        seed: u64,
        test_nlls: &[f64],
        end: Option<RunStatus>,
    ) -> String {
        let levels = varying["model.levels"].as_u64().unwrap_or(2);
        let family = varying.get("model.family").cloned().unwrap_or(json!("pixelcnn"));
        let condition = varying.get("model.condition").cloned().unwrap_or(json!("none"));
        let mut all = varying.clone();
        all["seed"] = json!(seed);
        let config = json!({"seed": seed,
                            "model": {"levels": levels, "blocks": 2, "hidden": 4, "family": family,
                                      "condition": condition, "gated": {"layers": 3, "channels": 8, "kernel": 5}},
                            "train": {"epochs": test_nlls.len(), "batch_size": 8}});
        let mut run = new_run(&self.experiment_id, &format!("{all}"), config, all, test_nlls.len() as u32);
        run.config_toml = format!("seed = {seed}\n[model]\nlevels = {levels}\n");
        run.git_commit = Some("0123456789abcdef".into());
        run.git_dirty = Some(false);
        run.versions = json!({"burn": "0.22.1"});
        let lease = claim(&self.store, run).await;
        let run_id = lease.run_id.clone();
        for (i, nll) in test_nlls.iter().enumerate() {
            let picture = NewArtefact {
                kind: ArtefactKind::Samples,
                name: "samples.png".into(),
                media_type: "image/png".into(),
                content: ArtefactContent::Blob(vec![0x89, b'P', b'N', b'G', i as u8]),
            };
            self.store.record_epoch(&lease, &epoch(i as u32 + 1, *nll), &[picture]).await.unwrap();
        }
        if let Some(status) = end {
            let error = (status == RunStatus::Failed).then_some("diverged: loss <b>NaN</b> at step 3");
            self.store.finish_run(&lease, status, error).await.unwrap();
        }
        run_id
    }

    async fn report(&self, name: &str) -> Report {
        let data = ExperimentData::load(&self.store, name).await.unwrap();
        Report::build(&data, "2026-01-01 00:00:00 UTC").unwrap()
    }
}

fn assert_spread(spread: Option<Spread>, mean: f64, std: f64, n: usize) {
    let s = spread.expect("a spread");
    assert_eq!(s.n, n);
    assert!((s.mean - mean).abs() < 1e-12, "mean {} != {mean}", s.mean);
    assert!((s.std.unwrap() - std).abs() < 1e-12, "std {:?} != {std}", s.std);
}

#[tokio::test]
async fn summary_gives_mean_and_sample_std_over_seeds() {
    let f = Fixture::new("levels", "2 vs 256 levels").await;
    let finished = Some(RunStatus::Finished);
    for (seed, last) in [(1, 0.10), (2, 0.12), (3, 0.14)] {
        f.run(json!({"model.levels": 2}), seed, &[0.3, last], finished).await;
    }
    for (seed, last) in [(1, 0.60), (2, 0.66)] {
        f.run(json!({"model.levels": 256}), seed, &[0.9, last], finished).await;
    }
    // Not counted: a failed seed and one still running.
    f.run(json!({"model.levels": 256}), 3, &[f64::NAN], Some(RunStatus::Failed)).await;
    f.run(json!({"model.levels": 256}), 4, &[0.95], None).await;

    let report = f.report("levels").await;
    let [q2, q256] = &report.summary[..] else { panic!("{:?}", report.summary) };
    assert_eq!((q2.levels.get(), q2.finished, q2.runs, q2.seeds.clone()), (2, 3, 3, vec![1, 2, 3]));
    assert_spread(q2.nats_per_pixel, 0.12, 0.02, 3);
    assert_spread(q2.bits_per_dim, 0.12 / LN_2, 0.02 / LN_2, 3);
    assert_spread(q2.nats_per_image, 0.12 * 784.0, 0.02 * 784.0, 3);
    // Sample std of (0.60, 0.66) is 0.06 / sqrt(2).
    assert_eq!((q256.finished, q256.runs), (2, 4));
    assert_spread(q256.nats_per_pixel, 0.63, 0.06 / 2f64.sqrt(), 2);
    // Training time is the sum of epoch seconds (2 + 4), the same for every seed.
    let time = q2.train_seconds.unwrap();
    assert_eq!((time.mean, time.std, time.n), (6.0, Some(0.0), 3));
    assert_eq!(q2.best_epochs, vec![2, 2, 2]);
    assert_eq!(q2.best_by, Some(pixelcnn_record::BestBy::TestSet));

    let view = &report.view;
    // Each configuration row is followed by the seed's published result for its q.
    let labels: Vec<(&str, bool)> = view.summary.iter().map(|r| (r.label.as_str(), r.reference)).collect();
    assert_eq!(
        labels,
        [
            ("model.levels = 2", false),
            ("seed notebook, q = 2", true),
            ("model.levels = 256", false),
            ("seed notebook, q = 256", true)
        ]
    );
    assert_eq!(view.summary[1].bits_per_dim, "0.1157");
    assert_eq!(view.summary[3].bits_per_dim, "0.9053");
    assert!(view.summary[1].recipe.contains("batch 256"), "{}", view.summary[1].recipe);
    assert!(view.summary[0].recipe.contains("batch 8"), "{}", view.summary[0].recipe);
    assert_eq!(view.summary[2].n, "2 of 4");
    assert_eq!(view.in_progress, 1);
    assert_eq!(view.problems.len(), 2);
    assert!(view.notes.contains(&Note::Threshold), "{:?}", view.notes);
    // Separate panels per q, in both units.
    let titles: Vec<&str> = view.curves.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles.len(), 4, "{titles:?}");
    assert!(titles[0].starts_with("q = 2") && titles[2].starts_with("q = 256"), "{titles:?}");

    let out = f.root.join("report");
    let written = report.write(&out).unwrap();
    let html = std::fs::read_to_string(&written.html).unwrap();
    assert!(html.contains("Partial results: 1 run was still running"), "the partial banner");
    assert!(html.contains("81.30 nats per image"), "the threshold note");
    let markdown = std::fs::read_to_string(&written.markdown).unwrap();
    assert!(markdown.contains("Partial results: 1 run was still running"), "{markdown}");
    assert!(markdown.contains("81.30 nats per image"), "{markdown}");
    assert!(html.contains("diverged: loss &lt;b&gt;NaN&lt;"), "error text not escaped");
    assert_markdown_links_exist(&written.markdown);
}

/// Every `](target)` link of a Markdown file names a file that exists next to it.
fn assert_markdown_links_exist(markdown: &Path) {
    let text = std::fs::read_to_string(markdown).unwrap();
    let dir = markdown.parent().unwrap();
    let mut links = 0;
    for (start, _) in text.match_indices("](") {
        let rest = &text[start + 2..];
        let target = &rest[..rest.find(')').expect("closed link")];
        assert!(dir.join(target).is_file(), "report.md links {target}, which does not exist");
        links += 1;
    }
    assert!(links >= 4, "only {links} links in report.md");
}

#[tokio::test]
async fn hostile_strings_are_inert_and_stay_inside_the_output_folder() {
    let name = "<script>alert(1)</script>";
    let f = Fixture::new(name, "<img src=x onerror=alert(2)> & friends").await;
    let hostile = json!({"model.levels": 2, "note": "</td><script>alert(3)</script>"});
    f.run(hostile.clone(), 1, &[0.2, 0.1], Some(RunStatus::Finished)).await;
    f.run(hostile, 2, &[0.25, 0.11], Some(RunStatus::Failed)).await;

    let report = f.report(name).await;
    let out = f.root.join("out");
    let written = report.write(&out).unwrap();
    let html = std::fs::read_to_string(&written.html).unwrap();
    assert!(!html.contains("<script"), "a live script tag in the HTML");
    assert!(!html.contains("<img src=x"), "a live image tag in the HTML");
    // minijinja also escapes `/` (as `&#x2f;`).
    assert!(html.contains("&lt;script&gt;alert(1)&lt;"), "the name is missing or not escaped");
    assert!(html.contains("td&gt;&lt;script&gt;alert(3)"), "the config value is missing or not escaped");
    let markdown = std::fs::read_to_string(&written.markdown).unwrap();
    assert!(!markdown.contains("<script") && !markdown.contains("<img src=x"), "raw HTML in report.md");
    assert_markdown_links_exist(&written.markdown);
    // Everything written is inside `out`; nothing else appeared next to it.
    let beside: Vec<String> = std::fs::read_dir(&f.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    let mut beside = beside;
    beside.sort();
    assert_eq!(beside, ["out", "results.db", "results.db-shm", "results.db-wal"].map(String::from).to_vec());
}

#[tokio::test]
async fn unknown_experiment_names_the_known_ones() {
    let f = Fixture::new("levels", "").await;
    let err = ExperimentData::load(&f.store, "levles").await.unwrap_err().to_string();
    assert!(err.contains("levles") && err.contains("levels"), "{err}");
}

#[tokio::test]
async fn an_experiment_without_runs_still_has_a_report() {
    let f = Fixture::new("empty", "").await;
    let written = f.report("empty").await.write(&f.root.join("out")).unwrap();
    assert!(std::fs::read_to_string(written.html).unwrap().contains("No runs are recorded"));
}

/// An experiment over model families: the summary names each architecture, a table sets every
/// family against the seed's PixelCNN of the same q, conditional NLLs get their caveat and
/// conditional pictures their layout.
#[tokio::test]
async fn model_families_are_compared_per_levels() {
    let f = Fixture::new("architectures", "seed vs gated").await;
    let finished = Some(RunStatus::Finished);
    for q in [2u64, 256] {
        let scale = if q == 2 { 1.0 } else { 8.0 };
        for (family, condition, last) in
            [("pixelcnn", "none", 0.10), ("gated", "none", 0.09), ("gated", "label", 0.08)]
        {
            for seed in [1, 2] {
                let varying =
                    json!({"model.levels": q, "model.family": family, "model.condition": condition});
                f.run(varying, seed, &[0.5 * scale, last * scale], finished).await;
            }
        }
    }
    let report = f.report("architectures").await;
    let view = &report.view;
    let families: Vec<(&str, &str, &str, &str)> = view
        .families
        .iter()
        .map(|r| (r.levels.as_str(), r.family.as_str(), r.condition.as_str(), r.versus_pixelcnn.as_str()))
        .collect();
    assert_eq!(
        families,
        [
            ("2", "pixelcnn", "none", "baseline"),
            ("2", "gated", "none", "-0.0144 (-10.0%)"),
            ("2", "gated", "label", "-0.0289 (-20.0%)"),
            ("256", "pixelcnn", "none", "baseline"),
            ("256", "gated", "none", "-0.1154 (-10.0%)"),
            ("256", "gated", "label", "-0.2308 (-20.0%)"),
        ]
    );
    let gated = report
        .summary
        .iter()
        .find(|r| r.family.as_str() == "gated" && r.condition.as_str() == "label")
        .unwrap();
    assert!(gated.recipe.contains("gated PixelCNN: 3 layers, 8 channels, kernel 5"), "{}", gated.recipe);
    assert!(gated.recipe.contains("conditioned on the label"), "{}", gated.recipe);
    let seed_model = report.summary.iter().find(|r| r.family.as_str() == "pixelcnn").unwrap();
    assert!(seed_model.recipe.contains("2 blocks, h = 4"), "{}", seed_model.recipe);
    assert!(view.notes.contains(&Note::Conditional), "{:?}", view.notes);
    for config in &view.configurations {
        let caption = &config.samples.as_ref().expect("samples").caption;
        let conditional = config.label.contains("label");
        assert_eq!(caption.contains("one row per class"), conditional, "#{} {caption}", config.number);
    }
    let written = report.write(&f.root.join("out")).unwrap();
    let html = std::fs::read_to_string(&written.html).unwrap();
    assert!(html.contains("Model families") && html.contains("-0.2308 (-20.0%)"));
    let markdown = std::fs::read_to_string(&written.markdown).unwrap();
    assert!(markdown.contains("## Model families") && markdown.contains("| 256 | "), "{markdown}");
    assert!(
        html.contains("-log p(x | class)")
            && markdown.contains("Label-conditional runs report -log p\\(x \\| class\\)"),
        "the conditional note"
    );
    assert_markdown_links_exist(&written.markdown);
}

/// Experiments of one family (every experiment before families) get no family table.
#[tokio::test]
async fn one_family_has_no_family_table() {
    let f = Fixture::new("levels", "").await;
    f.run(json!({"model.levels": 2}), 1, &[0.2], Some(RunStatus::Finished)).await;
    f.run(json!({"model.levels": 256}), 1, &[0.9], Some(RunStatus::Finished)).await;
    let report = f.report("levels").await;
    assert!(report.view.families.is_empty());
    let written = report.write(&f.root.join("out")).unwrap();
    assert!(!std::fs::read_to_string(&written.html).unwrap().contains("Model families"));
}

/// The report reads each run's configuration as a typed `RunConfig`: keys a run was recorded
/// without take the behaviour from before they existed, and a configuration this version cannot
/// read (a newer version's key, a hand edit) stops the report with the run and the key named,
/// instead of a row built from guesses.
#[tokio::test]
async fn stored_configurations_are_read_as_typed_run_configurations() {
    let f = Fixture::new("typed", "").await;
    let old = json!({"seed": 3, "model": {"levels": 256, "blocks": 2, "hidden": 4}, "train": {"epochs": 1}});
    let lease = claim(&f.store, new_run(&f.experiment_id, "old", old, json!({}), 1)).await;
    f.store.record_epoch(&lease, &epoch(1, 0.7), &[]).await.unwrap();
    f.store.finish_run(&lease, RunStatus::Finished, None).await.unwrap();
    let data = ExperimentData::load(&f.store, "typed").await.unwrap();
    let run = &data.runs[0];
    assert_eq!((run.seed(), run.levels().get()), (3, 256));
    assert_eq!((run.family(), run.condition()), (Default::default(), Default::default()));
    assert_eq!(run.config.model.blocks, 2);
    let row = &Report::build(&data, "2026-01-01 00:00:00 UTC").unwrap().summary[0];
    assert!(row.recipe.starts_with("batch 128, 1 epochs, 2 blocks, h = 4, 1 seed"), "{}", row.recipe);

    let newer = json!({"seed": 4, "model": {"levels": 2, "attention": true}});
    let id = f.store.create_run(&new_run(&f.experiment_id, "newer", newer, json!({}), 1)).await.unwrap();
    let err = ExperimentData::load(&f.store, "typed").await.unwrap_err().to_string();
    assert!(err.contains(&id) && err.contains("attention"), "{err}");
}
