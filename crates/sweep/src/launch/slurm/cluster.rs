//! The Slurm commands the launcher runs (`scontrol`, `sbatch`, `squeue`), each with its output
//! parsed in one place and its failure reported with the command and Slurm's own words.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::error::{Result, SweepError};

/// Runs a Slurm command and returns its stdout; a missing command or a non-zero exit is an error
/// naming it, with its stderr.
fn slurm(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let shown = format!("{program} {}", args.join(" "));
    let out = cmd.output().map_err(|e| SweepError::Slurm {
        command: shown.clone(),
        message: if e.kind() == std::io::ErrorKind::NotFound {
            format!("`{program}` not found: is this a Slurm login node (slurm-client installed)?")
        } else {
            e.to_string()
        },
    })?;
    if !out.status.success() {
        return Err(SweepError::Slurm {
            command: shown,
            message: format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The cluster's `MaxArraySize` (array indices go from 0 to this minus one), from
/// `scontrol show config`.
pub(crate) fn max_array_size() -> Result<u32> {
    let config = slurm("scontrol", &["show", "config"], &[])?;
    parse_max_array_size(&config).ok_or_else(|| SweepError::Slurm {
        command: "scontrol show config".into(),
        message: "no MaxArraySize line in its output".into(),
    })
}

fn parse_max_array_size(config: &str) -> Option<u32> {
    config.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "MaxArraySize").then(|| value.trim().parse().ok())?
    })
}

/// Submits `script` as an array of `tasks` tasks (indices `0..tasks`, at most `parallelism` at
/// once) with `env` added to the submitting environment (exported to the tasks); returns the
/// array's job id.
pub(crate) fn submit_array(
    script: &Path,
    tasks: u32,
    parallelism: Option<u32>,
    env: &[(&str, &str)],
) -> Result<String> {
    let mut array = format!("--array=0-{}", tasks.saturating_sub(1));
    if let Some(p) = parallelism {
        array.push_str(&format!("%{p}"));
    }
    let script = script.display().to_string();
    let out = slurm("sbatch", &["--parsable", "--export=ALL", &array, &script], env)?;
    // `--parsable` prints `JOBID` or `JOBID;CLUSTER`.
    Ok(out.trim().split(';').next().unwrap_or_default().to_owned())
}

/// The batch script of each of this user's pending tasks of jobs named `name`: each task will
/// claim among the configurations listed beside its script when it starts.
pub(crate) fn pending_tasks(name: &str) -> Result<Vec<PathBuf>> {
    let out = slurm(
        "squeue",
        &["--me", "--noheader", "--array", "--states=PENDING", "--name", name, "--format=%o"],
        &[],
    )?;
    Ok(out.lines().map(str::trim).filter(|l| !l.is_empty()).map(PathBuf::from).collect())
}

/// The time left before job `job_id` reaches its time limit (`squeue %L`); `None` when it has no
/// limit (`UNLIMITED`, `NOT_SET`) or Slurm does not say.
pub(crate) fn time_left(job_id: &str) -> Option<Duration> {
    let out = slurm("squeue", &["--noheader", "--jobs", job_id, "--format=%L"], &[]).ok()?;
    parse_time_left(out.trim())
}

/// Slurm's `[days-]hours:minutes:seconds` (or `minutes:seconds`, or `seconds`).
fn parse_time_left(text: &str) -> Option<Duration> {
    let (days, clock) = match text.split_once('-') {
        Some((days, clock)) => (days.parse::<u64>().ok()?, clock),
        None => (0, text),
    };
    let parts: Vec<u64> = clock.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let seconds = match parts.as_slice() {
        [h, m, s] => h * 3600 + m * 60 + s,
        [m, s] => m * 60 + s,
        [s] => *s,
        _ => return None,
    };
    Some(Duration::from_secs(days * 86_400 + seconds))
}

/// How many tasks of this user's jobs named `name` are still queued, running or ending.
pub(crate) fn live_tasks(name: &str) -> Result<usize> {
    let out = slurm("squeue", &["--me", "--noheader", "--array", "--name", name, "--format=%i"], &[])?;
    Ok(out.lines().filter(|l| !l.trim().is_empty()).count())
}

/// Puts a running task back in the queue (it must have been submitted with `--requeue`).
pub(crate) fn requeue(job_id: &str) -> Result<()> {
    slurm("scontrol", &["requeue", job_id], &[]).map(|_| ())
}

/// Splits `tasks` into array sizes the cluster accepts (at most `max` each).
pub(crate) fn chunks(tasks: u32, max: u32) -> Vec<u32> {
    let max = max.max(1);
    let mut out = vec![max; (tasks / max) as usize];
    if !tasks.is_multiple_of(max) {
        out.push(tasks % max);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_array_size_is_read_from_scontrol() {
        let config = "MaxArraySize            = 1001\nMaxJobCount             = 10000\n";
        assert_eq!(parse_max_array_size(config), Some(1001));
        assert_eq!(parse_max_array_size("MaxJobCount = 3\n"), None);
    }

    #[test]
    fn time_left_is_read_in_slurm_s_formats() {
        let secs = |s: u64| Some(Duration::from_secs(s));
        assert_eq!(parse_time_left("1-02:03:04"), secs(86_400 + 2 * 3600 + 3 * 60 + 4));
        assert_eq!(parse_time_left("02:03:04"), secs(2 * 3600 + 3 * 60 + 4));
        assert_eq!(parse_time_left("3:04"), secs(184));
        assert_eq!(parse_time_left("59"), secs(59));
        assert_eq!(parse_time_left("UNLIMITED"), None);
        assert_eq!(parse_time_left("NOT_SET"), None);
        assert_eq!(parse_time_left(""), None);
    }

    #[test]
    fn arrays_are_chunked_under_the_limit() {
        assert_eq!(chunks(6, 1001), [6]);
        assert_eq!(chunks(2500, 1000), [1000, 1000, 500]);
        assert_eq!(chunks(2000, 1000), [1000, 1000]);
        assert!(chunks(0, 10).is_empty());
    }
}
