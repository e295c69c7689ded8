//! `pixelcnn sample`: pictures from a saved model.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use pixelcnn_config::DeviceSpec;
use pixelcnn_data::{DataLimits, Levels, Mnist, QuantisedSplit, mnist};
use pixelcnn_train::checkpoint::Checkpoint;
use pixelcnn_train::device;
use pixelcnn_train::sampling::{SampleRequest, configured_sampler};

/// Arguments of `pixelcnn sample`.
pub struct Args {
    pub checkpoint: PathBuf,
    pub n: usize,
    pub complete: bool,
    pub seed: Option<u64>,
    pub sampler: Option<String>,
    pub device: Option<String>,
    pub data: Option<PathBuf>,
    pub out: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let ckpt = Checkpoint::read(&args.checkpoint)?;
    let config = &ckpt.header.config;
    let spec =
        DeviceSpec::parse(args.device.as_deref().unwrap_or(&config.device)).map_err(anyhow::Error::msg)?;
    let selected = device::select(spec, config.threads)?;
    let model = ckpt.model(&args.checkpoint, &selected.device)?;
    let dir = args.data.clone().or_else(|| config.data.dir.clone()).unwrap_or_else(mnist::default_dir);
    let complete = if args.complete { config.sample.complete.max(1) } else { 0 };
    let limits = DataLimits { test_limit: Some(complete.max(1)), ..DataLimits::default() };
    let test = QuantisedSplit::new(&Mnist::load(&dir, &limits)?.test, Levels::new(config.model.levels)?);
    let request = SampleRequest {
        seed: args.seed.unwrap_or(config.seed),
        epoch: ckpt.header.position.epoch,
        count: if args.complete { 0 } else { args.n },
        complete,
        occlude_from_row: config.sample.occlude_from_row,
        // --sampler, else the checkpoint configuration's `sample.sampler` (cached unless naive).
        sampler: configured_sampler(args.sampler.as_deref().unwrap_or(&config.sample.sampler))?,
    };
    let files = request.run(&model, &test)?;
    let bytes = files.samples.or(files.completion).context("nothing to draw (--n 0)")?;
    let kind = if args.complete { "completion" } else { "samples" };
    let out = args.out.clone().unwrap_or_else(|| args.checkpoint.with_extension(format!("{kind}.png")));
    std::fs::write(&out, bytes).with_context(|| format!("writing {}", out.display()))?;
    println!("{kind} written to {}", out.display());
    Ok(ExitCode::SUCCESS)
}
