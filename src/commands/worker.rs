//! `pixelcnn worker`: one run of a sweep, in its own process.

use std::process::ExitCode;

use pixelcnn_store::RunStatus;
use pixelcnn_sweep::{WorkerArgs, run_worker};

pub fn run(args: &WorkerArgs) -> anyhow::Result<ExitCode> {
    Ok(match run_worker(args)? {
        RunStatus::Finished => ExitCode::SUCCESS,
        RunStatus::Interrupted => ExitCode::from(130),
        _ => ExitCode::FAILURE,
    })
}
