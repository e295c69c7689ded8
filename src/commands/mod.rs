//! One module per subcommand.

mod compare;
mod doctor;
mod eval;
mod export;
mod gc;
mod metrics;
mod outcome;
mod plan;
mod report;
mod rerun;
mod runs;
mod sample;
mod show;
mod store;
mod sweep;
mod train;
mod worker;

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{Command, StoreCommand};

/// How `train` and `sweep` name the data folder on the command line.
const SET_DATA_DIR: &str = "--set data.dir=PATH";
/// How `sample`, `eval` and `doctor` name it.
pub(crate) const DATA_FLAG: &str = "--data PATH";

/// Appends to an error about a missing data folder (or a folder without the MNIST files) the
/// option by which this command names another; other errors pass unchanged.
fn data_option(option: &'static str) -> impl Fn(anyhow::Error) -> anyhow::Error {
    move |error| {
        let wrong_folder = |e: &pixelcnn_data::DataError| e.is_wrong_folder();
        let found = match (error.downcast_ref(), error.downcast_ref(), error.downcast_ref()) {
            (Some(e), _, _) => wrong_folder(e),
            (_, Some(pixelcnn_train::TrainError::Data(e)), _) => wrong_folder(e),
            (_, _, Some(pixelcnn_sweep::SweepError::Data(e))) => wrong_folder(e),
            (_, _, Some(pixelcnn_sweep::SweepError::Train(pixelcnn_train::TrainError::Data(e)))) => {
                wrong_folder(e)
            }
            _ => false,
        };
        if found { anyhow::anyhow!("{error:#}; name another folder with {option}") } else { error }
    }
}

/// Runs a subcommand; its exit code on success.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Doctor { data } => doctor::run(data.as_deref()),
        Command::Train { config, sets, out, resume } => {
            train::run(config.as_deref(), &sets, &out, resume.as_deref()).map_err(data_option(SET_DATA_DIR))
        }
        Command::Sample { checkpoint, n, complete, label, seed, sampler, device, data, out } => {
            sample::run(&sample::Args { checkpoint, n, complete, label, seed, sampler, device, data, out })
                .map_err(data_option(DATA_FLAG))
        }
        Command::Eval { checkpoint, data, device, json } => {
            eval::run(&checkpoint, data, device, json).map_err(data_option(DATA_FLAG))
        }
        Command::Plan { experiment, db, probe } => plan::run(&experiment, db.as_deref(), probe),
        Command::Sweep {
            experiment,
            db,
            runs_dir,
            parallel,
            retry_failed,
            tags,
            note,
            stale_after,
            heartbeat_every,
            reports_dir,
            no_report,
            launcher,
            slurm,
        } => sweep::run(
            &experiment,
            sweep::Args {
                db,
                runs_dir,
                parallel,
                retry_failed,
                tags,
                note,
                stale_after,
                heartbeat_every,
                reports_dir: (!no_report).then_some(reports_dir),
                launcher,
                slurm,
            },
        )
        .map_err(data_option(SET_DATA_DIR)),
        Command::Report { experiment, db, out } => report::run(&experiment, db.as_deref(), out),
        Command::Rerun { run, epochs, device, threads, allow_env_change, db, runs_dir } => {
            rerun::run(rerun::Args { run, epochs, device, threads, allow_env_change, db, runs_dir })
        }
        Command::Export { run, out, db } => export::run(&run, &out, db.as_deref()),
        Command::Compare { run_a, run_b, db, out } => compare::run(&run_a, &run_b, db.as_deref(), out),
        Command::Worker {
            db,
            configs,
            run,
            runs_dir,
            stale_after,
            heartbeat_every,
            device,
            threads,
            lifeline,
        } => worker::run(&pixelcnn_sweep::ClaimerArgs {
            db,
            queue: match (configs, run) {
                (Some(list), _) => pixelcnn_sweep::ClaimQueue::Configs(list),
                (None, Some(id)) => pixelcnn_sweep::ClaimQueue::Run(id),
                (None, None) => anyhow::bail!("worker: give --configs FILE or --run ID"),
            },
            runs_dir,
            stale_after: Duration::from_secs(stale_after),
            heartbeat_every: worker::seconds("--heartbeat-every", heartbeat_every)?,
            device,
            threads,
            lifeline,
        }),
        Command::Runs { selection, db, json } => runs::run(&selection, db.as_deref(), json),
        Command::Show { run, db, json } => show::run(&run, db.as_deref(), json),
        Command::Metrics { selection, db, format } => metrics::run(&selection, db.as_deref(), format),
        Command::Gc { db, dry_run } => gc::run(db.as_deref(), dry_run),
        Command::Store { command: StoreCommand::Copy { from, to } } => store::copy(&from, &to),
    }
}
