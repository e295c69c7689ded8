//! `pixelcnn eval`: the test likelihood of a saved model.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pixelcnn_config::DeviceSpec;
use pixelcnn_record::bits_per_dim;
use pixelcnn_train::{Trained, mean_nll};

pub fn run(
    path: &Path,
    data: Option<PathBuf>,
    device: Option<DeviceSpec>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let trained = Trained::load(path, device)?;
    let config = &trained.config;
    let test = trained.test_split(data.as_deref(), config.data.test_limit)?;
    let nll = mean_nll(&trained.model, &test, config.train.batch_size, &trained.device.device);
    let (h, w) = test.shape();
    let device = &trained.device.info.name;
    let result = serde_json::json!({
        "checkpoint": path,
        "epoch": trained.epoch,
        "test_images": test.len(),
        "device": device,
        "test_nll": nll,
        "test_bits_per_dim": bits_per_dim(nll),
        "test_nats_per_image": nll * (h * w) as f64,
    });
    if json {
        println!("{result:#}");
    } else {
        println!(
            "{}: epoch {}, {} test images on {device}: {:.4} nats/pixel, {:.4} bits/dim, {:.2} nats/image",
            path.display(),
            trained.epoch,
            test.len(),
            nll,
            bits_per_dim(nll),
            nll * (h * w) as f64
        );
    }
    Ok(ExitCode::SUCCESS)
}
