//! `pixelcnn sample`: pictures from a saved model.

use std::process::ExitCode;

use anyhow::Context;
use pixelcnn_config::limits;
use pixelcnn_train::Trained;
use pixelcnn_train::sampling::SampleRequest;

use crate::cli::SampleArgs;

pub fn run(args: &SampleArgs) -> anyhow::Result<ExitCode> {
    let trained = Trained::load(&args.checkpoint, args.device)?;
    let config = &trained.config;
    let complete = if args.complete { config.sample.complete.max(1) } else { 0 };
    // Sizes this machine cannot hold are refused before anything is allocated.
    let machine = limits::Machine::this();
    let fits = if args.complete {
        limits::check_completions("sample.complete (of the checkpoint)", complete, &config.model, &machine)
    } else {
        limits::check_draws("--n", args.n, &config.model, &machine)
    };
    fits.map_err(anyhow::Error::msg)?;
    let test = trained.test_split(args.data.as_deref(), Some(complete.max(1)))?;
    let request = SampleRequest {
        seed: args.seed.unwrap_or(config.seed),
        epoch: u32::try_from(trained.epoch).unwrap_or(u32::MAX),
        count: if args.complete { 0 } else { args.n },
        complete,
        occlude_from_row: config.sample.occlude_from_row,
        // --sampler, else the checkpoint configuration's `sample.sampler`.
        sampler: args.sampler.unwrap_or(config.sample.sampler),
        label: args.label,
    };
    let files = request.run(&trained.model, &test)?;
    let bytes = files.samples.or(files.completion).context("nothing to draw (--n 0)")?;
    let kind = if args.complete { "completion" } else { "samples" };
    let out = args.out.clone().unwrap_or_else(|| args.checkpoint.with_extension(format!("{kind}.png")));
    std::fs::write(&out, bytes).with_context(|| format!("writing {}", out.display()))?;
    println!("{kind} written to {}", out.display());
    Ok(ExitCode::SUCCESS)
}
