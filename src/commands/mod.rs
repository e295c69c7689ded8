//! One module per subcommand.

mod compare;
mod doctor;
mod eval;
mod export;
mod gc;
mod labels;
mod metrics;
mod outcome;
mod plan;
mod report;
mod rerun;
mod rm;
mod runs;
mod sample;
mod serve;
mod show;
mod store;
mod sweep;
mod train;
mod worker;

use std::process::ExitCode;

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
        Command::Doctor(args) => doctor::run(&args),
        Command::Train(args) => train::run(&args).map_err(data_option(SET_DATA_DIR)),
        Command::Sample(args) => sample::run(&args).map_err(data_option(DATA_FLAG)),
        Command::Eval(args) => eval::run(&args).map_err(data_option(DATA_FLAG)),
        Command::Plan(args) => plan::run(&args),
        Command::Sweep(args) => sweep::run(&args).map_err(data_option(SET_DATA_DIR)),
        Command::Report(args) => report::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Rerun(args) => rerun::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Compare(args) => compare::run(&args),
        Command::Worker(args) => worker::run(&args),
        Command::Runs(args) => runs::run(&args),
        Command::Show(args) => show::run(&args),
        Command::Tag(args) => labels::tag(&args),
        Command::Note(args) => labels::note(&args),
        Command::Rm(args) => rm::run(&args),
        Command::Metrics(args) => metrics::run(&args),
        Command::Gc(args) => gc::run(&args),
        Command::Store { command: StoreCommand::Copy { from, to } } => store::copy(&from, &to),
    }
}
