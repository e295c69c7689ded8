//! The `device` key: where a run trains.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A device as written in a configuration, parsed when the configuration is read and checked
/// against the machine before anything runs. Written and stored as text (`cuda:1`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceSpec {
    /// libtorch CUDA when a CUDA device exists, else libtorch CPU (flex in a flex-only build).
    #[default]
    Auto,
    /// libtorch on the CPU.
    Cpu,
    /// libtorch on CUDA device N.
    Cuda(usize),
    /// burn's pure-Rust CPU backend.
    Flex,
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

impl FromStr for DeviceSpec {
    type Err = String;

    /// Parses `auto`, `cpu`, `cuda`, `cuda:N` or `flex`.
    fn from_str(text: &str) -> Result<Self, String> {
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

impl TryFrom<String> for DeviceSpec {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl From<DeviceSpec> for String {
    fn from(spec: DeviceSpec) -> String {
        spec.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_bad_names_say_what_is_valid() {
        for spec in [DeviceSpec::Auto, DeviceSpec::Cpu, DeviceSpec::Cuda(3), DeviceSpec::Flex] {
            assert_eq!(spec.to_string().parse::<DeviceSpec>(), Ok(spec));
            assert_eq!(serde_json::to_value(spec).unwrap(), serde_json::json!(spec.to_string()));
        }
        assert_eq!("cuda".parse::<DeviceSpec>(), Ok(DeviceSpec::Cuda(0)));
        let err = "gpu".parse::<DeviceSpec>().unwrap_err();
        assert!(err.contains("`gpu`") && err.contains("cuda:N"), "{err}");
    }
}
