//! `pixelcnn eval`: the test likelihood of a saved model.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pixelcnn_config::DeviceSpec;
use pixelcnn_data::{DataLimits, Levels, Mnist, QuantisedSplit, mnist};
use pixelcnn_train::checkpoint::Checkpoint;
use pixelcnn_train::{bits_per_dim, device, mean_nll};

pub fn run(
    path: &Path,
    data: Option<PathBuf>,
    device: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let ckpt = Checkpoint::read(path)?;
    let config = &ckpt.header.config;
    let spec = DeviceSpec::parse(device.as_deref().unwrap_or(&config.device)).map_err(anyhow::Error::msg)?;
    let selected = device::select(spec, config.threads)?;
    let model = ckpt.model(path, &selected.device)?;
    let dir = data.or_else(|| config.data.dir.clone()).unwrap_or_else(mnist::default_dir);
    let limits = DataLimits { test_limit: config.data.test_limit, ..DataLimits::default() };
    let test = QuantisedSplit::new(&Mnist::load(&dir, &limits)?.test, Levels::new(config.model.levels)?);
    let nll = mean_nll(&model, &test, config.train.batch_size, &selected.device);
    let (h, w) = test.shape();
    let result = serde_json::json!({
        "checkpoint": path,
        "epoch": ckpt.header.position.epoch,
        "test_images": test.len(),
        "device": selected.info.name,
        "test_nll": nll,
        "test_bits_per_dim": bits_per_dim(nll),
        "test_nats_per_image": nll * (h * w) as f64,
    });
    if json {
        println!("{result:#}");
    } else {
        println!(
            "{}: epoch {}, {} test images on {}: {:.4} nats/pixel, {:.4} bits/dim, {:.2} nats/image",
            path.display(),
            ckpt.header.position.epoch,
            test.len(),
            selected.info.name,
            nll,
            bits_per_dim(nll),
            nll * (h * w) as f64
        );
    }
    Ok(ExitCode::SUCCESS)
}
