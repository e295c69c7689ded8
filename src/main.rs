//! `pixelcnn`: the command line of pixelcnn-lab. Parsing and dispatch only; the work lives in the
//! `crates/` libraries.

mod cli;
mod commands;
mod logging;
mod pipe;
mod progress;
mod versions;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    pixelcnn_train::allocator::keep_freed_memory();
    let cli = cli::Cli::parse();
    if cli.command.only_prints() {
        pipe::end_quietly_when_the_reader_goes();
    }
    logging::init(cli.log_format);
    match commands::run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", describe(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and each cause that its message does not already include.
fn describe(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message = format!("{message}: {cause}");
        }
    }
    message
}
