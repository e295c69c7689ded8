//! Logs written to a file or a pipe are plain text: no ANSI colour codes.

mod common;

use std::process::Stdio;

use common::{pixelcnn, tiny_config};

#[test]
fn a_redirected_log_has_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(dir.path(), "cpu", 2, 1);
    let out = dir.path().join("run");
    let log_path = dir.path().join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let status = pixelcnn()
        .args(["train", "--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()])
        // Colours would be the default; only the redirection may turn them off.
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(log)
        .status()
        .expect("pixelcnn starts");
    let bytes = std::fs::read(&log_path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(status.success(), "{text}");
    assert!(text.contains("INFO") && text.contains("run starts at epoch"), "no log line in {text:?}");
    assert!(!bytes.contains(&0x1b), "ANSI escape in the log: {text:?}");
}
