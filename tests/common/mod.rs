//! Helpers shared by the integration tests: run the real `pixelcnn` binary on tiny configurations.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `pixelcnn` binary built for this test run.
pub fn pixelcnn() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pixelcnn"));
    cmd.env("RUST_LOG", "warn");
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
