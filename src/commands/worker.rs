//! `pixelcnn worker`: one run of a sweep, in its own process.

use std::process::ExitCode;
use std::time::Duration;

use pixelcnn_store::RunStatus;
use pixelcnn_sweep::{TaskArgs, TaskOutcome, WorkerArgs, run_task, run_worker};

/// A positive, finite number of seconds from the command line.
pub fn seconds(option: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| anyhow::anyhow!("{option} {value}: expected a positive number of seconds"))
}

pub fn run(args: &WorkerArgs) -> anyhow::Result<ExitCode> {
    Ok(match run_worker(args)? {
        // Pruned: a rung of its search ended it, as asked.
        RunStatus::Finished | RunStatus::Pruned => ExitCode::SUCCESS,
        RunStatus::Interrupted => ExitCode::from(130),
        _ => ExitCode::FAILURE,
    })
}

/// A Slurm task: success when it trained its run to the end (or to the rung that pruned it), found
/// nothing left to claim, or requeued itself after the time-limit warning (the requeued task goes
/// on).
pub fn task(args: &TaskArgs) -> anyhow::Result<ExitCode> {
    Ok(match run_task(args)? {
        TaskOutcome::NothingToClaim => ExitCode::SUCCESS,
        TaskOutcome::Trained { requeued: true, .. } => ExitCode::SUCCESS,
        TaskOutcome::Trained { status: RunStatus::Finished | RunStatus::Pruned, .. } => ExitCode::SUCCESS,
        TaskOutcome::Trained { status: RunStatus::Interrupted, .. } => ExitCode::from(130),
        TaskOutcome::Trained { .. } => ExitCode::FAILURE,
    })
}
