//! `pixelcnn worker`: claims and trains runs of a sweep's queue, in its own process.

use std::process::ExitCode;
use std::time::Duration;

use pixelcnn_sweep::{ClaimQueue, ClaimerArgs, run_claimer};

use crate::cli::WorkerArgs;

/// A positive, finite number of seconds from the command line.
pub fn seconds(option: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| anyhow::anyhow!("{option} {value}: expected a positive number of seconds"))
}

/// Success when nothing was left to claim (every run it trained ended, pruned and paused at a
/// rung included) or it requeued its Slurm task after the time-limit warning (the requeued task
/// goes on); 130 when it was stopped; failure when a run it trained failed.
pub fn run(args: &WorkerArgs) -> anyhow::Result<ExitCode> {
    let outcome = run_claimer(&ClaimerArgs {
        db: args.db.clone(),
        queue: match (&args.configs, &args.run) {
            (Some(list), _) => ClaimQueue::Configs(list.clone()),
            (None, Some(id)) => ClaimQueue::Run(id.clone()),
            (None, None) => anyhow::bail!("worker: give --configs FILE or --run ID"),
        },
        runs_dir: args.runs_dir.clone(),
        stale_after: Duration::from_secs(args.stale_after),
        heartbeat_every: seconds("--heartbeat-every", args.heartbeat_every)?,
        device: args.device,
        threads: args.threads,
        lifeline: args.lifeline,
    })?;
    Ok(if outcome.any_failed() {
        ExitCode::FAILURE
    } else if outcome.stopped && !outcome.requeued {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}
