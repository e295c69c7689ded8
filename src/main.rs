//! `pixelcnn`: the command line of pixelcnn-lab. Parsing and dispatch only; the work lives in the
//! `crates/` libraries.

mod cli;
mod commands;
mod logging;
mod progress;
mod versions;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    logging::init(cli.log_format);
    match commands::run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
