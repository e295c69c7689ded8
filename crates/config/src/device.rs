//! The `device` key: where a run trains.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A device as written in a configuration, before it is checked against the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeviceSpec {
    /// libtorch CUDA when a CUDA device exists, else libtorch CPU (flex in a flex-only build).
    Auto,
    /// libtorch on the CPU.
    Cpu,
    /// libtorch on CUDA device N.
    Cuda(usize),
    /// burn's pure-Rust CPU backend.
    Flex,
}

impl DeviceSpec {
    /// Parses `auto`, `cpu`, `cuda`, `cuda:N` or `flex`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            "flex" => Ok(Self::Flex),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Self::Cuda)
                .ok_or_else(|| format!("`{other}` is not a device; use auto, cpu, cuda, cuda:N or flex")),
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
            Self::Flex => f.write_str("flex"),
        }
    }
}
