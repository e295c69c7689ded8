//! Sizes a user gives are bounded by what this machine can hold: each absurd one is refused with
//! the option and the limit, before anything is allocated or written (no allocator abort).

mod common;

use std::path::Path;

use common::{pixelcnn, text, tiny_config, tiny_experiment};

/// Asserts that `out` failed cleanly (no abort, no backtrace) and named every one of `words`.
fn assert_refused(case: &str, out: &std::process::Output, words: &[&str]) {
    let said = text(out);
    assert_eq!(out.status.code(), Some(1), "{case}: a clean error exit, not a crash:\n{said}");
    assert!(!said.contains("memory allocation") && !said.contains("panicked"), "{case}:\n{said}");
    for word in words {
        assert!(said.contains(word), "{case}: the error names `{word}`:\n{said}");
    }
}

fn sweep(file: &Path, db: &Path, extra: &[&str]) -> std::process::Output {
    pixelcnn()
        .args(["sweep", file.to_str().unwrap(), "--db", db.to_str().unwrap(), "--no-report"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn a_sweep_refuses_sizes_this_machine_cannot_hold() {
    let dir = tempfile::tempdir().unwrap();
    let file = tiny_experiment(dir.path(), "sizes", 1, "[sweep]\nseeds = [1]\n");
    let db = dir.path().join("p.db");
    let cases: [(&str, &[&str], &[&str]); 5] = [
        ("train.batch_size", &["--set", "train.batch_size=100000000000"], &["train.batch_size", "at most"]),
        ("sample.count", &["--set", "sample.count=100000000000"], &["sample.count", "at most"]),
        ("sample.complete", &["--set", "sample.complete=20000"], &["sample.complete", "at most 10000"]),
        ("--parallel", &["--parallel", "100000"], &["--parallel", "at most"]),
        ("--parallel 0", &["--parallel", "0"], &["--parallel"]),
    ];
    for (case, extra, words) in cases {
        let out = sweep(&file, &db, extra);
        assert_refused(case, &out, words);
        assert!(!db.exists(), "{case}: refused before the database was created");
    }
}

#[test]
fn sample_refuses_more_images_than_fit() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(dir.path(), "cpu", 2, 1);
    let out_dir = dir.path().join("run");
    let trained = pixelcnn()
        .args(["train", "--config", config.to_str().unwrap(), "--out", out_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(trained.status.success(), "{}", text(&trained));
    let checkpoint = out_dir.join("checkpoints").join("epoch-0001.ckpt");
    assert!(checkpoint.is_file(), "{}", text(&trained));
    let png = dir.path().join("huge.png");
    let out = pixelcnn()
        .args(["sample", "--checkpoint", checkpoint.to_str().unwrap(), "--n", "100000000000"])
        .args(["--out", png.to_str().unwrap()])
        .output()
        .unwrap();
    assert_refused("--n", &out, &["--n", "at most"]);
    assert!(!png.exists());
    // A size that fits still draws.
    let out = pixelcnn()
        .args(["sample", "--checkpoint", checkpoint.to_str().unwrap(), "--n", "10"])
        .args(["--out", png.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success() && png.is_file(), "{}", text(&out));
}
