//! The gated PixelCNN through the real binary: a label-conditional run trains, evaluates and
//! draws the class asked for (`sample --label N`), one row per class otherwise; an unconditional
//! model refuses a label; a tiny sweep over the condition stores pictures with one row per class
//! for the conditional run, and its report says so.

mod common;

use std::path::{Path, PathBuf};

use common::{json, run, text, tiny_config};

/// Side of a 28x28 digit in the pictures (scaled 2x) plus the gap.
const CELL: u32 = 28 * 2 + 2;

/// A tiny gated run configuration (seconds to train) conditioned on `condition`.
fn gated_config(dir: &Path, condition: &str) -> PathBuf {
    let path = dir.join(format!("gated-{condition}.toml"));
    std::fs::write(
        &path,
        format!(
            "seed = 3\ndevice = \"cpu\"\nthreads = 1\n\
             [data]\ntrain_limit = 256\ntest_limit = 64\n\
             [model]\nfamily = \"gated\"\nlevels = 2\ncondition = \"{condition}\"\n\
             [model.gated]\nlayers = 2\nchannels = 4\nkernel = 3\n\
             [train]\nepochs = 1\nbatch_size = 32\nlr = 0.005\n\
             [sample]\ncount = 20\ncomplete = 3\n"
        ),
    )
    .unwrap();
    path
}

/// `(width, height)` of a PNG file.
fn size(png: &Path) -> (u32, u32) {
    let image = image::open(png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
    (image.width(), image.height())
}

/// `pixelcnn sample --checkpoint CKPT ARGS --out OUT`.
fn sample(ckpt: &Path, out: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["sample", "--checkpoint", ckpt.to_str().unwrap(), "--out", out.to_str().unwrap()];
    all.extend(args);
    run(&all)
}

#[test]
fn a_conditional_gated_run_draws_the_class_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let config = gated_config(dir.path(), "label");
    let out = dir.path().join("run");
    let o = run(&["train", "--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // The run's own picture: 20 samples, two per class, one row per class.
    assert_eq!(size(&out.join("samples/samples-epoch-0001.png")), (2 + 2 * CELL, 2 + 10 * CELL));
    let ckpt = out.join("checkpoints/epoch-0001.ckpt");

    // Evaluated given the test labels, as recorded after the epoch.
    let o = run(&["eval", "--checkpoint", ckpt.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["test_nll"], common::metrics_without_timing(&out)[0]["test_nll"]);

    // A chosen class: 20 sevens, 10 per row; another class draws other digits from the same seed.
    let sevens = dir.path().join("sevens.png");
    let o = sample(&ckpt, &sevens, &["--label", "7", "--n", "20"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(size(&sevens), (2 + 10 * CELL, 2 + 2 * CELL));
    let ones = dir.path().join("ones.png");
    assert!(sample(&ckpt, &ones, &["--label", "1", "--n", "20"]).status.success());
    assert_ne!(image::open(&ones).unwrap().to_luma8(), image::open(&sevens).unwrap().to_luma8());
    // The naive sampler draws the same sevens.
    let naive = dir.path().join("naive.png");
    assert!(sample(&ckpt, &naive, &["--label", "7", "--n", "20", "--sampler", "naive"]).status.success());
    assert_eq!(image::open(&naive).unwrap().to_luma8(), image::open(&sevens).unwrap().to_luma8());

    // Without a label: one row per class.
    let grid = dir.path().join("grid.png");
    assert!(sample(&ckpt, &grid, &["--n", "10"]).status.success());
    assert_eq!(size(&grid), (2 + CELL, 2 + 10 * CELL));
    // Completions given the test images' own classes, or the class asked for.
    for extra in [&["--complete"][..], &["--complete", "--label", "3"]] {
        let completion = dir.path().join("completion.png");
        let o = sample(&ckpt, &completion, extra);
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(size(&completion), (2 + 3 * CELL, 2 + 2 * CELL));
    }

    // A class the model does not know: a clear error and no picture.
    let bad = dir.path().join("bad.png");
    let o = sample(&ckpt, &bad, &["--label", "10"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("label 10") && text(&o).contains("0 to 9"), "{}", text(&o));
    assert!(!bad.exists());
}

#[test]
fn an_unconditional_model_refuses_a_label() {
    let dir = tempfile::tempdir().unwrap();
    for (name, config) in
        [("pixelcnn", tiny_config(dir.path(), "cpu", 2, 1)), ("gated", gated_config(dir.path(), "none"))]
    {
        let out = dir.path().join(name);
        let o = run(&["train", "--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
        let png = dir.path().join(format!("{name}.png"));
        let o = sample(&out.join("checkpoints/epoch-0001.ckpt"), &png, &["--label", "3"]);
        assert!(!o.status.success(), "{name}");
        assert!(text(&o).contains("unconditional"), "{name}: {}", text(&o));
        assert!(!png.exists());
    }
}

#[test]
fn a_conditional_sweep_stores_one_row_per_class() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("conditional.toml");
    std::fs::write(
        &file,
        "device = \"cpu\"\nthreads = 1\n\
         [experiment]\nname = \"conditional\"\n\
         [data]\ntrain_limit = 256\ntest_limit = 32\n\
         [model]\nfamily = \"gated\"\nlevels = 2\n\
         [model.gated]\nlayers = 2\nchannels = 4\nkernel = 3\n\
         [train]\nepochs = 1\nbatch_size = 64\nlr = 0.005\n\
         [sample]\ncount = 20\ncomplete = 2\n\
         [sweep]\n\"model.condition\" = [\"none\", \"label\"]\nseeds = [1]\n",
    )
    .unwrap();
    let db = dir.path().join("p.db");
    let reports = dir.path().join("reports");
    let o = run(&[
        "sweep",
        file.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--runs-dir",
        dir.path().join("runs").to_str().unwrap(),
        "--reports-dir",
        reports.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let runs = json(&["runs"], &db);
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for r in runs {
        let id = r["id"].as_str().unwrap();
        let detail = json(&["show", id], &db);
        let condition = detail["run"]["config"]["model"]["condition"].as_str().unwrap().to_owned();
        let exported = dir.path().join(format!("export-{condition}"));
        let o = run(&["export", id, "--out", exported.to_str().unwrap(), "--db", db.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
        // The picture as the database stores it.
        let stored = size(&exported.join("pictures/samples-epoch-0001.png"));
        let expected =
            if condition == "label" { (2 + 2 * CELL, 2 + 10 * CELL) } else { (2 + 10 * CELL, 2 + 2 * CELL) };
        assert_eq!(stored, expected, "condition {condition}");
    }
    let html = std::fs::read_to_string(reports.join("conditional/index.html")).unwrap();
    assert!(html.contains("one row per class"), "the report does not say how the conditional grid reads");
}
