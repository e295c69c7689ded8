//! What the figures were measured on: the machine, its load, and the versions of everything involved.

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

/// The machine a benchmark ran on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    /// Host name.
    pub host: String,
    /// CPU model name (`/proc/cpuinfo`).
    pub cpu_model: String,
    /// Logical CPUs this process may use.
    pub logical_cpus: usize,
    /// Physical cores (distinct core ids per package), where `/proc/cpuinfo` says.
    pub physical_cores: Option<usize>,
    /// Vector extensions the CPU reports (AVX2, AVX-512 ...), which decide conv kernels.
    pub vector_extensions: Vec<String>,
    /// Total memory, bytes.
    pub memory_bytes: Option<u64>,
    /// Operating system (`/etc/os-release`).
    pub os: String,
    /// Kernel release.
    pub kernel: String,
    /// 1-minute load average when the benchmark started: above ~0.5 the machine was not quiet.
    pub load_at_start: Option<f64>,
    /// 1-minute load average when it ended (it includes the benchmark's own load).
    pub load_at_end: Option<f64>,
}

/// Versions of the software measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Versions {
    /// Git commit of pixelcnn-lab, with `-dirty` when the tree had uncommitted changes.
    pub pixelcnn_lab: String,
    /// Compiler of this harness.
    pub rustc: String,
    /// Cargo profile of this harness (`release` for real figures).
    pub profile: String,
    /// burn, as locked.
    pub burn: String,
    /// tch (libtorch bindings), as locked.
    pub tch: String,
    /// torch and its libraries, as the reference's Python reports them (null when it did not run).
    pub pytorch: Option<serde_json::Value>,
}

impl Machine {
    /// Describes this machine now.
    pub fn describe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            cpuinfo.lines().find_map(|l| {
                let (key, value) = l.split_once(':')?;
                (key.trim() == name).then(|| value.trim().to_owned())
            })
        };
        let flags = field("flags").unwrap_or_default();
        let wanted = ["avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile"];
        let vector_extensions = wanted
            .iter()
            .filter(|w| flags.split_whitespace().any(|f| f == **w))
            .map(|w| (*w).to_owned())
            .collect();
        let mut cores = std::collections::BTreeSet::new();
        let mut package = String::new();
        for line in cpuinfo.lines() {
            if let Some((key, value)) = line.split_once(':') {
                match key.trim() {
                    "physical id" => package = value.trim().to_owned(),
                    "core id" => {
                        cores.insert((package.clone(), value.trim().to_owned()));
                    }
                    _ => {}
                }
            }
        }
        let memory_bytes = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        });
        let os = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|t| {
                t.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")).map(|v| v.trim_matches('"').to_owned())
            })
            .unwrap_or_else(|| std::env::consts::OS.to_owned());
        Self {
            host: host_name(),
            cpu_model: field("model name").unwrap_or_else(|| "unknown".into()),
            logical_cpus: available_cpus(),
            physical_cores: (!cores.is_empty()).then_some(cores.len()),
            vector_extensions,
            memory_bytes,
            os,
            kernel: read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_else(|| "unknown".into()),
            load_at_start: load_average(),
            load_at_end: None,
        }
    }
}

impl Versions {
    /// Versions known without running the reference.
    pub fn current(root: &Path) -> Self {
        Self {
            pixelcnn_lab: git_commit(root),
            rustc: env!("BENCH_RUSTC_VERSION").to_owned(),
            profile: env!("BENCH_PROFILE").to_owned(),
            burn: env!("BENCH_BURN_VERSION").to_owned(),
            tch: env!("BENCH_TCH_VERSION").to_owned(),
            pytorch: None,
        }
    }
}

/// Logical CPUs available to this process.
pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The 1-minute load average.
pub fn load_average() -> Option<f64> {
    read_trimmed("/proc/loadavg")?.split_whitespace().next()?.parse().ok()
}

/// This machine's host name.
pub fn host_name() -> String {
    read_trimmed("/proc/sys/kernel/hostname")
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Peak resident set size of this process so far (`VmHWM`), in bytes; `None` off Linux.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

fn git_commit(root: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) => {
            let dirty =
                git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
            if dirty { format!("{commit}-dirty") } else { commit }
        }
        None => "unknown".into(),
    }
}
