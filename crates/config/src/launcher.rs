//! Where a sweep's runs train, as `[launcher.slurm]` in an experiment file or one of its
//! profiles: the settings of the job array that `pixelcnn sweep --launcher slurm` submits. They
//! are not part of any run's configuration (nor of its hash): the same run trained on a laptop
//! or on a cluster is the same run.

use serde::{Deserialize, Serialize};
use toml::Value;

use crate::error::{ConfigError, Result};

/// The `[launcher]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LauncherConfig {
    /// `[launcher.slurm]`.
    #[serde(default)]
    pub slurm: SlurmConfig,
}

/// `[launcher.slurm]`: the job array's resources. Unset keys leave Slurm's defaults (the
/// cluster's default partition, its default time limit, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmConfig {
    /// Partition (`--partition`).
    pub partition: Option<String>,
    /// Time limit of each task (`--time`, e.g. `"2-00:00:00"` or `"90"` minutes). Tasks that
    /// reach it are warned 120 s before, checkpoint, and requeue themselves.
    pub time: Option<String>,
    /// GPUs per task (`--gpus-per-task`); each task trains one run.
    pub gpus_per_task: Option<u32>,
    /// CPUs per task (`--cpus-per-task`); the run's threads follow it unless it sets `threads`.
    pub cpus_per_task: Option<u32>,
    /// At most this many tasks at once (`--array=0-N%P`).
    pub parallelism: Option<u32>,
    /// Further `#SBATCH` lines, written as options (`"--account=vision"`, `"--qos=long"`).
    #[serde(default)]
    pub extra: Vec<String>,
}

impl SlurmConfig {
    /// These settings with every key `over` sets replacing this one's (`extra` lines add up).
    pub fn overlaid(&self, over: &SlurmConfig) -> SlurmConfig {
        SlurmConfig {
            partition: over.partition.clone().or_else(|| self.partition.clone()),
            time: over.time.clone().or_else(|| self.time.clone()),
            gpus_per_task: over.gpus_per_task.or(self.gpus_per_task),
            cpus_per_task: over.cpus_per_task.or(self.cpus_per_task),
            parallelism: over.parallelism.or(self.parallelism),
            extra: self.extra.iter().chain(&over.extra).cloned().collect(),
        }
    }
}

/// Reads a `[launcher]` table of `origin` (a file, or a file's profile), naming the key at fault.
pub(crate) fn read_launcher(origin: &str, value: Value) -> Result<LauncherConfig> {
    // The error's path names the key at fault (`launcher.slurm.partition`), not just the table.
    let config: LauncherConfig = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ConfigError::InvalidValue {
            origin: origin.to_owned(),
            key: if path == "." { "launcher".into() } else { format!("launcher.{path}") },
            message: e.into_inner().message().to_owned(),
        }
    })?;
    if let Some(line) = config.slurm.extra.iter().find(|l| !l.trim_start().starts_with("--")) {
        return Err(ConfigError::InvalidValue {
            origin: origin.to_owned(),
            key: "launcher.slurm.extra".into(),
            message: format!("`{line}` is not an sbatch option; write it as `--option=value`"),
        });
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_bad_lines_are_refused_by_name() {
        let bad: Value = toml::from_str("[slurm]\npartiton = \"gpu\"").unwrap();
        let err = read_launcher("x.toml", bad).unwrap_err().to_string();
        assert!(err.contains("x.toml") && err.contains("partiton") && err.contains("partition"), "{err}");
        let bad: Value = toml::from_str("[slurm]\nextra = [\"#SBATCH --qos=long\"]").unwrap();
        assert!(read_launcher("x.toml", bad).unwrap_err().to_string().contains("launcher.slurm.extra"));
        let bad: Value = toml::from_str("[slurm]\ncpus_per_task = \"eight\"").unwrap();
        let err = read_launcher("x.toml", bad).unwrap_err().to_string();
        assert!(err.contains("launcher.slurm.cpus_per_task"), "{err}");
    }

    #[test]
    fn a_profile_overrides_key_by_key() {
        let base =
            SlurmConfig { partition: Some("cpu".into()), time: Some("60".into()), ..Default::default() };
        let over = SlurmConfig {
            partition: Some("gpu".into()),
            extra: vec!["--qos=long".into()],
            ..Default::default()
        };
        let both = base.overlaid(&over);
        assert_eq!(both.partition.as_deref(), Some("gpu"));
        assert_eq!(both.time.as_deref(), Some("60"));
        assert_eq!(both.extra, ["--qos=long"]);
    }
}
