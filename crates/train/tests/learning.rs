//! A small PixelCNN really learns MNIST on libtorch's CPU backend: after 320 steps its training and
//! test NLL are at least 20% below ln(q), the NLL of the uniform model, and below both the
//! untrained model's test NLL and the first training loss the run reports. So does a small
//! label-conditional gated PixelCNN, which also learns to use the label: its test NLL given each
//! image's own class is below its NLL given another class.

mod common;

use burn::tensor::Device;
use pixelcnn_config::{Condition, DeviceSpec, GatedKeys, ModelFamily, RunConfig};
use pixelcnn_data::{DataLimits, Mnist, QuantisedSplit, mnist};
use pixelcnn_model::Model;
use pixelcnn_train::{Trainer, device, mean_nll};

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

/// The same with a label-conditional gated PixelCNN of 3 layers of 8 channels, kernel 5.
fn conditional_gated(levels: usize, seed: u64) -> RunConfig {
    let mut config = config(levels, seed);
    config.model.family = ModelFamily::Gated;
    config.model.condition = Condition::Label;
    config.model.gated = GatedKeys { layers: 3, channels: 8, kernel: 5 };
    config
}

/// The test split of a run's configuration; with `relabel`, every image's label moved to the next
/// class.
fn test_split(config: &RunConfig, relabel: bool) -> QuantisedSplit {
    let limits = DataLimits { train_limit: Some(1), test_limit: config.data.test_limit, validation_size: 0 };
    let mut data = Mnist::load(&mnist::default_dir(), &limits).expect("real MNIST is installed");
    if relabel {
        data.test.labels.iter_mut().for_each(|l| *l = (*l + 1) % 10);
    }
    QuantisedSplit::new(&data.test, config.model.levels)
}

/// Test NLL of the model the run starts from: the same seed and initialisation, no training.
fn untrained_test_nll(config: &RunConfig, device: &Device) -> f64 {
    device.seed(config.seed);
    let model = pixelcnn_model::ModelConfig::from(&config.model).init(device);
    mean_nll(&model, &test_split(config, false), config.train.batch_size, device)
}

/// Trains `config` and checks that it learned; returns the trained model (last checkpoint).
fn learns(config: RunConfig) -> Model {
    let (levels, seed) = (config.model.levels.get(), config.seed);
    let batch = config.train.batch_size;
    let _lock = training_lock();
    let selected = device::select(DeviceSpec::Cpu, THREADS).expect("libtorch CPU");
    let before = untrained_test_nll(&config, &selected.device);

    let dir = tempfile::tempdir().expect("temp dir");
    let mut recorder = Recorder::default();
    let history = Trainer::new(config.clone(), dir.path())
        .expect("run sets up")
        .run(&mut recorder)
        .expect("run trains");
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
    let ckpt = dir.path().join("checkpoints").join(pixelcnn_train::checkpoint::file_name(last.epoch));
    let trained = pixelcnn_train::Trained::load(&ckpt, None).expect("the last checkpoint loads");
    let test = mean_nll(&trained.model, &test_split(&config, false), batch, &trained.device.device);
    assert_eq!(test, last.test_nll, "the checkpoint's model is the one evaluated: {report}");
    trained.model
}

#[test]
fn binary_pixelcnn_learns() {
    learns(config(2, 1));
    learns(config(2, 2));
}

#[test]
fn pixelcnn_with_256_levels_learns() {
    learns(config(256, 2));
}

#[test]
fn conditional_gated_pixelcnn_learns_and_uses_the_label() {
    let config = conditional_gated(2, 3);
    let model = learns(config.clone());
    let device = model.device();
    let batch = config.train.batch_size;
    let own = mean_nll(&model, &test_split(&config, false), batch, &device);
    let other = mean_nll(&model, &test_split(&config, true), batch, &device);
    assert!(own < other, "the label does not help: NLL {own} given the true class, {other} given another");
}
