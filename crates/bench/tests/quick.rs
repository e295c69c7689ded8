//! `pixelcnn-bench --quick` end to end: every measurement runs (tiny sizes, one repetition) and the
//! results file holds every figure. No timing is asserted: speed targets are benchmark figures, not
//! tests.
//!
//! The sweep-overhead measurement drives the real `pixelcnn` binary found next to
//! `pixelcnn-bench` (`cargo test --workspace` builds it; else set `PIXELCNN_BIN`). The PyTorch
//! reference runs with the cache's torch 2.9.0 venv (else `python3`, or `PIXELCNN_PYTHON`).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// A positive, finite number at `key` of `v`.
fn positive(v: &Value, key: &str) -> f64 {
    let x = v[key].as_f64().unwrap_or_else(|| panic!("`{key}` missing or not a number in {v}"));
    assert!(x.is_finite() && x > 0.0, "`{key}` = {x} in {v}");
    x
}

fn find<'a>(list: &'a Value, what: &str, pred: impl Fn(&Value) -> bool) -> &'a Value {
    list.as_array()
        .unwrap_or_else(|| panic!("{what}: not a list"))
        .iter()
        .find(|v| pred(v))
        .unwrap_or_else(|| panic!("{what} missing from {list}"))
}

#[test]
fn quick_mode_records_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    let doc = dir.path().join("benchmarks.md");
    let output = Command::new(env!("CARGO_BIN_EXE_pixelcnn-bench"))
        .arg("--quick")
        .arg("--out-dir")
        .arg(&results)
        .arg("--doc")
        .arg(&doc)
        .output()
        .expect("pixelcnn-bench starts");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "pixelcnn-bench --quick failed:\n{log}");

    let files: Vec<_> = std::fs::read_dir(&results).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "one results file expected: {files:?}");
    let file = &files[0];
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(name.ends_with("-quick.json"), "{name}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();

    assert_eq!(r["quick"], true);
    assert_eq!(r["complete"], true, "errors: {}", r["errors"]);
    assert_eq!(r["errors"].as_array().map(Vec::len), Some(0));
    let machine = &r["machine"];
    assert!(!machine["cpu_model"].as_str().unwrap().is_empty());
    positive(machine, "logical_cpus");
    positive(machine, "memory_bytes");
    assert!(machine["os"].is_string() && machine["kernel"].is_string());
    assert!(r["versions"]["burn"].is_string() && r["versions"]["rustc"].is_string());
    assert!(r["versions"]["pytorch"]["torch"].as_str().unwrap().starts_with("2.9.0"));
    let threads = positive(&r["settings"], "threads");

    for (family, backends) in [("pixelcnn", &["libtorch-cpu", "flex"][..]), ("gated", &["libtorch-cpu"][..])]
    {
        for q in [2, 256] {
            let is = |v: &Value| v["family"] == family && v["levels"] == q;
            for backend in backends {
                let t = find(&r["train"], &format!("train {family} {backend} q={q}"), |t| {
                    is(t) && t["backend"] == *backend
                });
                positive(t, "images_per_second");
                positive(t, "peak_rss_bytes");
                positive(t, "speed_vs_pytorch");
                positive(t, "pytorch_fastest_images_per_second");
            }
            for layout in ["nchw", "channels_last"] {
                let p =
                    find(&r["pytorch"]["train"], &format!("pytorch train {family} {layout} q={q}"), |p| {
                        is(p) && p["layout"] == layout
                    });
                positive(p, "images_per_second");
                positive(p, "peak_rss_bytes");
                // The reference is the same network: as many parameters as ours.
                let ours = find(&r["train"], &format!("train {family} q={q}"), is);
                assert_eq!(
                    p["params"], ours["params"],
                    "{family} q={q}: parameters of PyTorch's model and ours"
                );
                positive(ours, "params");
                let s =
                    find(&r["pytorch"]["sample"], &format!("pytorch sample {family} {layout} q={q}"), |p| {
                        is(p) && p["layout"] == layout
                    });
                positive(s, "seconds");
                positive(s, "seconds_per_pixel");
            }
            let naive = find(&r["sample"], &format!("naive sampling {family} q={q}"), |s| {
                is(s) && s["sampler"] == "naive"
            });
            assert_eq!(naive["images"], 100);
            assert_eq!(naive["threads"].as_f64(), Some(threads));
            positive(naive, "seconds");
            positive(naive, "seconds_per_pixel");
            positive(naive, "peak_rss_bytes");
            positive(naive, "speed_vs_pytorch");
            assert_eq!(naive["extrapolated"], true, "the naive sampler is timed over a row and scaled");
            let cached = find(&r["sample"], &format!("cached sampling {family} q={q}"), |s| {
                is(s) && s["sampler"] == "cached"
            });
            assert_eq!(cached["available"], true, "the cached sampler is measured");
            assert_eq!(cached["extrapolated"], false, "the cached sampler is timed over whole generations");
            positive(cached, "seconds");
            positive(cached, "speedup_vs_naive");
            positive(cached, "speed_vs_pytorch");
            positive(cached, "peak_rss_bytes");
        }
    }

    let sweep = &r["sweep"];
    positive(sweep, "runs");
    positive(sweep, "wall_seconds");
    positive(sweep, "epoch_seconds");
    assert!(sweep["overhead_seconds"].is_number() && sweep["overhead_per_run_seconds"].is_number());
    assert_eq!(sweep["sampling_seconds"], 0.0);

    let page = std::fs::read_to_string(&doc).unwrap();
    for heading in
        ["## Machine", "## Training throughput", "## Sampling", "## Sweep overhead", "## Peak memory"]
    {
        assert!(page.contains(heading), "{heading} missing from the page");
    }
    assert!(page.contains("Quick mode"), "a quick run must be flagged on the page");
    assert!(page.contains("| gated | 256 |"), "the gated PixelCNN's rows are on the page");
    assert!(page.contains(Path::new(name).file_stem().unwrap().to_str().unwrap()));
}
