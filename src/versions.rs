//! Versions of what computed a run's numbers, and the machine, as recorded with every run.

use serde::Serialize;

/// Tool versions baked in at build time, plus the torch found at run time.
#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    /// pixelcnn-lab.
    pub pixelcnn: &'static str,
    /// burn.
    pub burn: &'static str,
    /// tch (libtorch bindings).
    pub tch: &'static str,
    /// rustc that built the binary.
    pub rustc: &'static str,
    /// torch (libtorch) loaded by this process, when any.
    pub torch: Option<String>,
    /// Folder libtorch was loaded from.
    pub libtorch_dir: Option<String>,
    /// Operating system and kernel.
    pub os: String,
    /// CPU model.
    pub cpu: String,
    /// Logical CPUs of the machine.
    pub logical_cpus: usize,
}

impl Versions {
    /// Collects the versions of this process.
    pub fn current() -> Self {
        let libtorch_dir = loaded_libtorch_dir();
        let torch = libtorch_dir.as_deref().and_then(torch_version);
        let system = sysinfo::System::new_with_specifics(
            sysinfo::RefreshKind::nothing().with_cpu(sysinfo::CpuRefreshKind::nothing()),
        );
        let os = format!(
            "{} (kernel {})",
            sysinfo::System::long_os_version().unwrap_or_else(|| std::env::consts::OS.into()),
            sysinfo::System::kernel_version().unwrap_or_else(|| "?".into())
        );
        let cpu = system.cpus().first().map_or_else(|| "unknown".into(), |c| c.brand().trim().to_owned());
        Self {
            pixelcnn: env!("CARGO_PKG_VERSION"),
            burn: env!("PIXELCNN_BURN_VERSION"),
            tch: env!("PIXELCNN_TCH_VERSION"),
            rustc: env!("PIXELCNN_RUSTC_VERSION"),
            torch,
            libtorch_dir,
            os,
            cpu,
            logical_cpus: system.cpus().len(),
        }
    }
}

/// The folder of the libtorch the dynamic loader actually mapped into this process.
fn loaded_libtorch_dir() -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|path| path.ends_with("/libtorch_cpu.so"))
        .and_then(|path| path.rsplit_once('/').map(|(dir, _)| dir.to_owned()))
}

/// torch's version from the `version.py` beside a PyPI wheel's `lib/` folder.
fn torch_version(lib_dir: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("{lib_dir}/../version.py")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("__version__ = "))
        .map(|v| v.trim().trim_matches('\'').trim_matches('"').to_owned())
}
