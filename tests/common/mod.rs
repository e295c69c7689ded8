//! Helpers shared by the integration tests: run the real `pixelcnn` binary on tiny configurations.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `pixelcnn` binary built for this test run.
pub fn pixelcnn() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pixelcnn"));
    cmd.env("RUST_LOG", "warn");
    // Where a command given no `--db` records (`train` does by default): a store of this test
    // binary in cargo's temporary folder, never the repository's runs/.
    let default_db =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}-default.db", env!("CARGO_CRATE_NAME")));
    cmd.env("PIXELCNN_DB", default_db);
    // Where outputs named relative to the working folder land (`runs/`, `reports/`) when a test
    // gives no folder: cargo's temporary folder, never the repository (which a test may not even be
    // allowed to write). Tests that need a folder of their own set `current_dir` again.
    let cwd = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}-cwd", env!("CARGO_CRATE_NAME")));
    std::fs::create_dir_all(&cwd).expect("a working folder under CARGO_TARGET_TMPDIR");
    cmd.current_dir(cwd);
    cmd
}

/// Runs the binary with `args`; returns its output.
pub fn run(args: &[&str]) -> Output {
    pixelcnn().args(args).output().expect("pixelcnn starts")
}

/// Stdout and stderr of an output, for assertion messages.
pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Writes a tiny run configuration (seconds to train) for `device` into `dir`.
pub fn tiny_config(dir: &Path, device: &str, levels: usize, epochs: usize) -> PathBuf {
    let path = dir.join("run.toml");
    std::fs::write(
        &path,
        format!(
            "seed = 3\ndevice = \"{device}\"\nthreads = 1\n\
             [data]\ntrain_limit = 256\ntest_limit = 64\n\
             [model]\nlevels = {levels}\nblocks = 1\nhidden = 4\n\
             [train]\nepochs = {epochs}\nbatch_size = 32\nlr = 0.005\n\
             [sample]\ncount = 10\ncomplete = 3\n"
        ),
    )
    .unwrap();
    path
}

/// Per-epoch metrics of a run folder, timing columns removed.
pub fn metrics_without_timing(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let m = v.as_object_mut().unwrap();
            m.remove("seconds");
            m.remove("images_per_second");
            v
        })
        .collect()
}

/// Writes a tiny experiment file: `levels` swept, `seeds` replicates, plus extra TOML lines.
pub fn tiny_experiment(dir: &Path, name: &str, epochs: usize, extra: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "device = \"cpu\"\nthreads = 1\n\
             [experiment]\nname = \"{name}\"\ndescription = \"test sweep\"\n\
             [data]\ntrain_limit = 512\ntest_limit = 64\n\
             [model]\nblocks = 1\nhidden = 4\n\
             [train]\nepochs = {epochs}\nbatch_size = 64\nlr = 0.005\n\
             [sample]\ncount = 0\ncomplete = 0\n\
             {extra}\n"
        ),
    )
    .unwrap();
    path
}

/// `pixelcnn <args> --db <db> --json` parsed.
pub fn json(args: &[&str], db: &Path) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--db", db.to_str().unwrap(), "--json"]);
    let o = run(&all);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Every epoch row of a database, keyed by (config_hash, epoch), without timing columns.
pub fn epoch_rows(db: &Path) -> Vec<(String, u64, serde_json::Value)> {
    let o = run(&["metrics", "--db", db.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let mut out: Vec<_> = rows
        .into_iter()
        .map(|mut r| {
            let m = r.as_object_mut().unwrap();
            let key = format!("{}/{}/{}", m["model.levels"], m["train.lr"], m["seed"]);
            // The numbers of the epoch; timing, run ids and settings that do not change them are left out.
            let metrics = [
                "epoch",
                "step",
                "train_nll",
                "validation_nll",
                "test_nll",
                "test_bits_per_dim",
                "test_nats_per_image",
                "lr",
            ];
            m.retain(|k, _| metrics.contains(&k.as_str()));
            (key, m["epoch"].as_u64().unwrap(), r)
        })
        .collect();
    out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    out
}

/// Every run's status and last epoch, keyed by its swept `train.lr` (as JSON text).
pub fn run_outcomes(db: &Path) -> std::collections::BTreeMap<String, (String, u64)> {
    json(&["runs"], db)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let lr = r["varying"]["train.lr"].to_string();
            (lr, (r["status"].as_str().unwrap().to_owned(), r["last_epoch"].as_u64().unwrap_or(0)))
        })
        .collect()
}

/// One rung decision as `show --json` gives it: (rung, epoch, value, rank, recorded, decision).
pub type RungDecision = (u64, u64, f64, u64, u64, String);

/// Every run's rung decisions, keyed by its swept `train.lr` (as JSON text).
pub fn rung_decisions(db: &Path) -> std::collections::BTreeMap<String, Vec<RungDecision>> {
    let mut out = std::collections::BTreeMap::new();
    for r in json(&["runs"], db).as_array().unwrap() {
        let shown = json(&["show", r["id"].as_str().unwrap()], db);
        let rungs = shown["rung_decisions"].as_array().unwrap().iter().map(|d| {
            let k = &d["ranking"];
            (
                d["rung"].as_u64().unwrap(),
                d["epoch"].as_u64().unwrap(),
                d["value"].as_f64().unwrap(),
                k["rank"].as_u64().unwrap(),
                k["recorded"].as_u64().unwrap(),
                k["decision"].as_str().unwrap().to_owned(),
            )
        });
        out.insert(r["varying"]["train.lr"].to_string(), rungs.collect());
    }
    out
}
