//! One module per subcommand.

mod doctor;
mod eval;
mod sample;
mod train;

use std::process::ExitCode;

use crate::cli::Command;

/// Runs a subcommand; its exit code on success.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Doctor { data } => doctor::run(data.as_deref()),
        Command::Train { config, sets, out, resume } => {
            train::run(config.as_deref(), &sets, &out, resume.as_deref())
        }
        Command::Sample { checkpoint, n, complete, seed, device, data, out } => {
            sample::run(&sample::Args { checkpoint, n, complete, seed, device, data, out })
        }
        Command::Eval { checkpoint, data, device, json } => eval::run(&checkpoint, data, device, json),
    }
}
