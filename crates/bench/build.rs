//! Records, for the benchmark results, the compiler and the versions of burn and tch that the
//! workspace's Cargo.lock resolves.

use std::path::Path;
use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(&rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown".into(), |s| s.trim().to_owned());
    println!("cargo:rustc-env=BENCH_RUSTC_VERSION={version}");

    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let lock = Path::new(&manifest).join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    for (package, var) in [("burn", "BENCH_BURN_VERSION"), ("tch", "BENCH_TCH_VERSION")] {
        println!("cargo:rustc-env={var}={}", locked_version(&text, package).unwrap_or("unknown"));
    }
    let profile = std::env::var("PROFILE").unwrap_or_default();
    println!("cargo:rustc-env=BENCH_PROFILE={profile}");
}

/// The version of `package` in a Cargo.lock (the first entry of that name).
fn locked_version<'a>(lock: &'a str, package: &str) -> Option<&'a str> {
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("name = \"{package}\"") {
            let next = lines.next()?;
            return next.trim().strip_prefix("version = \"")?.strip_suffix('"');
        }
    }
    None
}
