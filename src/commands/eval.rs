//! `pixelcnn eval`: the test likelihood of a saved model.

use std::process::ExitCode;

use pixelcnn_record::bits_per_dim;
use pixelcnn_train::{Trained, mean_nll};

use crate::cli::EvalArgs;

pub fn run(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let trained = Trained::load(&args.checkpoint, args.device)?;
    let config = &trained.config;
    let test = trained.test_split(args.data.as_deref(), config.data.test_limit)?;
    let nll = mean_nll(&trained.model, &test, config.train.batch_size, &trained.device.device);
    let (h, w) = test.shape();
    let device = &trained.device.info.name;
    let result = serde_json::json!({
        "checkpoint": args.checkpoint,
        "epoch": trained.epoch,
        "test_images": test.len(),
        "device": device,
        "test_nll": nll,
        "test_bits_per_dim": bits_per_dim(nll),
        "test_nats_per_image": nll * (h * w) as f64,
    });
    if args.json {
        println!("{result:#}");
    } else {
        println!(
            "{}: epoch {}, {} test images on {device}: {:.4} nats/pixel, {:.4} bits/dim, {:.2} nats/image",
            args.checkpoint.display(),
            trained.epoch,
            test.len(),
            nll,
            bits_per_dim(nll),
            nll * (h * w) as f64
        );
    }
    Ok(ExitCode::SUCCESS)
}
