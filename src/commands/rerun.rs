//! `pixelcnn rerun`: repeat a stored run and judge whether its numbers came back.

use std::process::ExitCode;

use pixelcnn_store::{RerunVerdict, Verdict, resolve_url};
use pixelcnn_sweep::{RerunOptions, rerun};

use crate::cli::RerunArgs;
use crate::versions::Versions;

/// One line saying what a verdict means, with the first difference when there is one.
pub fn describe(v: &RerunVerdict) -> String {
    format!("rerun {} of {}: {}", v.run_id, v.original_id, v.summary())
}

pub fn run(args: &RerunArgs) -> anyhow::Result<ExitCode> {
    let options = RerunOptions {
        db_url: resolve_url(args.db.given()),
        run: args.run.clone(),
        epochs: args.epochs,
        device: args.device,
        threads: args.threads,
        allow_env_change: args.allow_env_change,
        runs_dir: args.runs_dir.clone(),
        worker_exe: std::env::current_exe()?,
        versions: serde_json::to_value(Versions::current())?,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let outcome = runtime.block_on(rerun(&options))?;
    let Some(verdict) = outcome.verdict else {
        eprintln!(
            "error: rerun {} of {} ended {}, nothing compared (`pixelcnn show {}` has its error)",
            outcome.run_id,
            outcome.original,
            outcome.status.as_str(),
            &outcome.run_id[..8]
        );
        return Ok(ExitCode::FAILURE);
    };
    println!("{}", describe(&verdict));
    Ok(if verdict.verdict == Verdict::Differs { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
