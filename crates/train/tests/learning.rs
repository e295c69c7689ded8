//! A small PixelCNN really learns MNIST on libtorch's CPU backend: after 320 steps its training and
//! test NLL are at least 20% below ln(q), the NLL of the uniform model, and below both the
//! untrained model's test NLL and the first training loss the run reports.

mod common;

use burn::tensor::Device;
use pixelcnn_config::{DeviceSpec, RunConfig};
use pixelcnn_data::{DataLimits, Mnist, QuantisedSplit, mnist};
use pixelcnn_train::{Trainer, device, mean_nll, model_config};

use common::{Recorder, THREADS, tiny_config, training_lock};

/// 2 blocks, h = 8; 512 images in batches of 8 for 5 epochs: 320 steps.
fn config(levels: usize, seed: u64) -> RunConfig {
    let mut config = tiny_config("cpu", levels, seed);
    config.data.train_limit = Some(512);
    config.data.test_limit = Some(256);
    config.model.blocks = 2;
    config.model.hidden = 8;
    config.train.epochs = 5;
    config.train.batch_size = 8;
    config.train.lr = 5e-3;
    config.checkpoint.keep_last = 1;
    config
}

/// Test NLL of the model the run starts from: the same seed and initialisation, no training.
fn untrained_test_nll(config: &RunConfig, device: &Device) -> f64 {
    let limits = DataLimits { train_limit: Some(1), test_limit: config.data.test_limit, validation_size: 0 };
    let data = Mnist::load(&mnist::default_dir(), &limits).expect("real MNIST is installed");
    let test = QuantisedSplit::new(&data.test, config.model.levels);
    device.seed(config.seed);
    let model = model_config(config).init(device);
    mean_nll(&model, &test, config.train.batch_size, device)
}

fn learns(levels: usize, seed: u64) {
    let config = config(levels, seed);
    let _lock = training_lock();
    let selected = device::select(DeviceSpec::Cpu, THREADS).expect("libtorch CPU");
    let before = untrained_test_nll(&config, &selected.device);

    let dir = tempfile::tempdir().expect("temp dir");
    let mut recorder = Recorder::default();
    let history =
        Trainer::new(config, dir.path()).expect("run sets up").run(&mut recorder).expect("run trains");
    let last = history.last().expect("epochs ran");
    // The loss is read every few steps; the first read is the mean over the first steps.
    let first_logged =
        recorder.steps.iter().map(|s| s.loss).find(|l| l.is_finite()).expect("a loss was read");
    let bound = 0.8 * (levels as f64).ln();
    let report = format!(
        "q={levels} seed={seed}: untrained {before}, first logged {first_logged}, final train {} test {}",
        last.train_nll, last.test_nll
    );
    assert_eq!(last.step, 320, "{report}");
    assert_eq!(recorder.steps.len(), 320, "every step was reported");
    // The untrained model is close to uniform, so beating 0.8 ln q means it learned something.
    assert!(before > bound, "untrained model already below the bound: {report}");
    assert!(last.train_nll < bound, "train NLL not below 0.8 ln q = {bound}: {report}");
    assert!(last.test_nll < bound, "test NLL not below 0.8 ln q = {bound}: {report}");
    assert!(last.test_nll < before, "test NLL not below the untrained model's: {report}");
    assert!(last.train_nll < before, "train NLL not below the untrained model's: {report}");
    assert!(last.train_nll < first_logged, "train NLL not below the first logged loss: {report}");
    // The epoch metrics are consistent with each other.
    assert!((last.test_bits_per_dim - last.test_nll / std::f64::consts::LN_2).abs() < 1e-12, "{report}");
    assert!((last.test_nats_per_image - last.test_nll * 784.0).abs() < 1e-9, "{report}");
}

#[test]
fn binary_pixelcnn_learns() {
    learns(2, 1);
    learns(2, 2);
}

#[test]
fn pixelcnn_with_256_levels_learns() {
    learns(256, 2);
}
