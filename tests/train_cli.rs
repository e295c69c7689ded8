//! `pixelcnn train`, `eval` and `sample` driven through the real binary on tiny configurations.

mod common;

use common::{metrics_without_timing, run, text, tiny_config};

#[test]
fn train_writes_config_metrics_samples_and_checkpoint_then_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(dir.path(), "cpu", 2, 2);
    let out = dir.path().join("run");
    let o = run(&["train", "--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let metrics = metrics_without_timing(&out);
    assert_eq!(metrics.len(), 2);
    for name in ["config.toml", "samples/samples-epoch-0002.png", "samples/completion-epoch-0002.png"] {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    let grid = image::open(out.join("samples/samples-epoch-0002.png")).unwrap();
    assert_eq!((grid.width(), grid.height()), (2 + 10 * (28 * 2 + 2), 2 + 28 * 2 + 2));
    let ckpt = out.join("checkpoints/epoch-0002.ckpt");
    assert!(ckpt.is_file());

    // The same folder again without --resume is refused: nothing is overwritten.
    let again = run(&["train", "--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(text(&again).contains("--resume"), "{}", text(&again));

    // Resuming with more epochs continues from epoch 3 and keeps the earlier rows.
    let o = run(&[
        "train",
        "--resume",
        ckpt.to_str().unwrap(),
        "--set",
        "train.epochs=3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let resumed = metrics_without_timing(&out);
    assert_eq!(resumed.len(), 3);
    assert_eq!(resumed[..2], metrics[..]);
    assert_eq!(resumed[2]["epoch"], 3);

    // Resuming with a changed recipe is refused, naming the key. Retention kept only the last
    // (and best) checkpoint.
    assert!(!ckpt.exists());
    let ckpt = out.join("checkpoints/epoch-0003.ckpt");
    let o = run(&[
        "train",
        "--resume",
        ckpt.to_str().unwrap(),
        "--set",
        "train.lr=0.1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("train.lr"), "{}", text(&o));
}

#[test]
fn eval_and_sample_read_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(dir.path(), "cpu", 256, 1);
    let out = dir.path().join("run");
    let o = run(&["train", "--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let ckpt = out.join("checkpoints/epoch-0001.ckpt");

    let o = run(&["eval", "--checkpoint", ckpt.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let recorded = &metrics_without_timing(&out)[0];
    // Evaluating the saved model reproduces the test NLL recorded after the epoch.
    assert_eq!(v["test_nll"], recorded["test_nll"]);
    let nll = v["test_nll"].as_f64().unwrap();
    assert!((v["test_bits_per_dim"].as_f64().unwrap() - nll / std::f64::consts::LN_2).abs() < 1e-12);
    assert!((v["test_nats_per_image"].as_f64().unwrap() - nll * 784.0).abs() < 1e-9);

    let png = dir.path().join("s.png");
    let o =
        run(&["sample", "--checkpoint", ckpt.to_str().unwrap(), "--n", "20", "--out", png.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let img = image::open(&png).unwrap();
    assert_eq!(img.height(), 2 + 2 * (28 * 2 + 2));
    // The cached sampler is the default; the naive reference draws the same picture from the seed.
    let naive = dir.path().join("naive.png");
    let o = run(&[
        "sample",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--n",
        "20",
        "--sampler",
        "naive",
        "--out",
        naive.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(image::open(&naive).unwrap().to_luma8(), img.to_luma8(), "naive and cached samples differ");

    let png = dir.path().join("c.png");
    let o = run(&[
        "sample",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--complete",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // Occluded inputs above completions: two rows of 3 (sample.complete = 3).
    let img = image::open(&png).unwrap();
    assert_eq!((img.width(), img.height()), (2 + 3 * 58, 2 + 2 * 58));
}

#[test]
fn bad_inputs_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[train]\nepoch = 2\n").unwrap();
    let o =
        run(&["train", "--config", bad.to_str().unwrap(), "--out", dir.path().join("o").to_str().unwrap()]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("bad.toml") && t.contains("train.epoch") && t.contains("train.epochs"), "{t}");
    assert!(!dir.path().join("o").exists(), "an invalid configuration writes nothing");

    let ckpt = dir.path().join("x.ckpt");
    std::fs::write(&ckpt, b"PIXELCNN-CKPT-v1 but then garbage").unwrap();
    let o = run(&["eval", "--checkpoint", ckpt.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("x.ckpt") && !text(&o).contains("panicked"), "{}", text(&o));

    let config = tiny_config(dir.path(), "cuda:0", 2, 1);
    let o = run(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        dir.path().join("c").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("CUDA") && !text(&o).contains("panicked"), "{}", text(&o));
}

#[test]
fn flex_runs_are_reproducible_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(dir.path(), "flex", 2, 1);
    let mut runs = Vec::new();
    for name in ["a", "b"] {
        let out = dir.path().join(name);
        let o = run(&[
            "train",
            "--config",
            config.to_str().unwrap(),
            "--set",
            "sample.count=0",
            "--set",
            "sample.complete=0",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        runs.push(metrics_without_timing(&out));
    }
    assert_eq!(runs[0], runs[1]);
}

#[test]
fn doctor_reports_a_missing_data_folder_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["doctor", "--data", dir.path().to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("just setup"), "{}", text(&o));
    let o = run(&["doctor"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("checksums match"), "{}", text(&o));
}

#[test]
fn train_records_its_run_in_the_store_unless_told_not_to() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(dir.path(), "cpu", 2, 2);
    let db = dir.path().join("results.db");
    let out = dir.path().join("run");
    let o = run(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--experiment",
        "ad-hoc",
        "--tag",
        "first",
        "--note",
        "trying q=2",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("recorded as run"), "{}", text(&o));
    let id = std::fs::read_to_string(out.join("run_id")).unwrap().trim().to_owned();

    // The store holds what the folder holds: the run, every epoch, its pictures.
    let shown = common::json(&["show", &id], &db);
    let run_json = &shown["run"];
    assert_eq!(run_json["experiment"], "ad-hoc");
    assert_eq!(run_json["status"], "finished");
    assert_eq!(run_json["tags"], serde_json::json!(["first"]));
    assert_eq!(run_json["note"], "trying q=2");
    assert_eq!(
        run_json["config_hash"].as_str().unwrap(),
        std::fs::read_to_string(out.join("config_hash")).unwrap().trim()
    );
    let stored: Vec<(u64, f64)> = common::epoch_rows(&db)
        .into_iter()
        .map(|(_, epoch, row)| (epoch, row["test_nll"].as_f64().unwrap()))
        .collect();
    let written: Vec<(u64, f64)> = metrics_without_timing(&out)
        .iter()
        .map(|m| (m["epoch"].as_u64().unwrap(), m["test_nll"].as_f64().unwrap()))
        .collect();
    assert_eq!(stored, written, "the store's epochs are the metrics file's");
    let pictures =
        shown["artefacts"].as_array().map_or(0, |a| a.iter().filter(|a| a["kind"] != "checkpoint").count());
    assert!(pictures >= 2, "samples and completions recorded: {shown}");

    // --no-store leaves no database behind; a bad tag is refused before anything is written.
    let elsewhere = dir.path().join("none.db");
    let o = common::pixelcnn()
        .env("PIXELCNN_DB", &elsewhere)
        .args(["train", "--config", config.to_str().unwrap(), "--no-store"])
        .args(["--out", dir.path().join("quiet").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(!elsewhere.exists() && !dir.path().join("quiet/run_id").exists(), "--no-store recorded the run");
    let bad = dir.path().join("bad");
    let o = run(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        bad.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--tag",
        "two words",
    ]);
    assert!(!o.status.success() && text(&o).contains("--tag"), "{}", text(&o));
    assert!(!bad.exists(), "nothing written for a refused run");
}
