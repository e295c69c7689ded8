//! Build facts for the `pixelcnn` binary: the versions it records with every run (read from
//! Cargo.lock and rustc), and an rpath to libtorch so that the binary runs without anyone setting
//! LD_LIBRARY_PATH.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let lock: toml::Table = lock.parse().unwrap_or_default();
    for (package, var) in [("burn", "PIXELCNN_BURN_VERSION"), ("tch", "PIXELCNN_TCH_VERSION")] {
        println!("cargo:rustc-env={var}={}", locked_version(&lock, package));
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    println!("cargo:rustc-env=PIXELCNN_RUSTC_VERSION={}", version.trim());

    // torch-sys (links = "tch") tells its direct dependents where libtorch's libraries are.
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{lib}");
        // libtorch_cuda is reached only through libtorch.so: keep it linked, or CUDA cannot start.
        println!("cargo:rustc-link-arg-bins=-Wl,--no-as-needed,-ltorch,--as-needed");
    }
}

fn locked_version(lock: &toml::Table, name: &str) -> String {
    lock.get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .find(|p| p.get("name").and_then(|n| n.as_str()) == Some(name))
        .and_then(|p| p.get("version")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}
