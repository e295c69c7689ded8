//! Reproducibility of whole runs: the same seed gives bitwise-identical metrics (timing excluded),
//! another seed different ones, and a run resumed from a checkpoint continues exactly as the
//! uninterrupted run did, on libtorch's CPU backend and on flex (and so does a label-conditional
//! gated PixelCNN's). A resume that would change the numbers (here the learning rate) is refused.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use pixelcnn_config::{Condition, GatedKeys, ModelFamily, RunConfig};
use pixelcnn_record::EpochMetrics;
use pixelcnn_train::{TrainError, Trainer, checkpoint};

use common::{Recorder, tiny_config, training_lock, untimed};

const SEED: u64 = 7;
const EPOCHS: usize = 3;

fn config(device: &str, seed: u64) -> RunConfig {
    let mut config = tiny_config(device, 4, seed);
    config.train.epochs = EPOCHS;
    config
}

/// Every number of an epoch as raw bits, so that equality means bitwise equality (and a NaN
/// would not compare unequal to itself).
fn bits(metrics: &[EpochMetrics]) -> Vec<Vec<u64>> {
    untimed(metrics)
        .iter()
        .map(|m| {
            vec![
                m.epoch as u64,
                m.step,
                m.train_nll.to_bits(),
                m.validation_nll.map_or(u64::MAX, f64::to_bits),
                m.test_nll.to_bits(),
                m.test_bits_per_dim.to_bits(),
                m.test_nats_per_image.to_bits(),
                m.lr.to_bits(),
                m.seconds.to_bits(),
                m.images_per_second.to_bits(),
            ]
        })
        .collect()
}

/// Trains `config` from scratch into `dir`; returns the history and what the observer saw.
fn train(config: &RunConfig, dir: &Path) -> (Vec<EpochMetrics>, Recorder) {
    let _lock = training_lock();
    let mut recorder = Recorder::default();
    let history =
        Trainer::new(config.clone(), dir).expect("run sets up").run(&mut recorder).expect("run trains");
    (history, recorder)
}

/// The uninterrupted reference run of a device, trained once per process. Call it before taking
/// the training lock (it takes the lock itself).
fn reference(device: &str) -> &'static [EpochMetrics] {
    static CPU: OnceLock<Vec<EpochMetrics>> = OnceLock::new();
    static FLEX: OnceLock<Vec<EpochMetrics>> = OnceLock::new();
    let cell = match device {
        "cpu" => &CPU,
        "flex" => &FLEX,
        other => panic!("no reference run for {other}"),
    };
    cell.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let (history, recorder) = train(&config(device, SEED), dir.path());
        assert_eq!(history.len(), EPOCHS, "{device}: every epoch ran");
        assert_eq!(recorder.epochs, history, "{device}: the observer saw the returned history");
        for m in &history {
            assert!(m.train_nll.is_finite() && m.test_nll.is_finite(), "{device}: {m:?}");
        }
        history
    })
}

fn same_seed_is_bitwise_identical(device: &str) {
    let first = reference(device);
    let dir = tempfile::tempdir().expect("temp dir");
    let (second, _) = train(&config(device, SEED), dir.path());
    assert_eq!(bits(&second), bits(first), "{device}: same seed, different numbers");
    // Timing is the only thing excluded: the untimed metrics compare equal as values too.
    assert_eq!(untimed(&second), untimed(first));
}

fn different_seed_differs(device: &str) {
    let first = reference(device);
    let dir = tempfile::tempdir().expect("temp dir");
    let (other, _) = train(&config(device, SEED + 1), dir.path());
    for (a, b) in first.iter().zip(&other) {
        assert_ne!(a.train_nll.to_bits(), b.train_nll.to_bits(), "{device}: epoch {} train NLL", a.epoch);
        assert_ne!(a.test_nll.to_bits(), b.test_nll.to_bits(), "{device}: epoch {} test NLL", a.epoch);
    }
}

fn resume_continues_bitwise(device: &str) {
    let uninterrupted = reference(device);
    let dir = tempfile::tempdir().expect("temp dir");
    // The interrupted run: one epoch (its last, so sampling is due, with nothing to draw).
    let mut short = config(device, SEED);
    short.train.epochs = 1;
    let (first, _) = train(&short, dir.path());
    assert_eq!(bits(&first), bits(&uninterrupted[..1]), "{device}: epoch 1 of the short run");

    let ckpt = dir.path().join("checkpoints").join(checkpoint::file_name(1));
    assert!(ckpt.is_file(), "{device}: no checkpoint at {}", ckpt.display());
    let _lock = training_lock();
    let mut recorder = Recorder::default();
    let history = Trainer::resume(&ckpt, config(device, SEED), dir.path())
        .expect("resume sets up")
        .run(&mut recorder)
        .expect("resumed run trains");
    assert_eq!(recorder.first_epoch, Some(2), "{device}: resumed run starts at epoch 2");
    assert_eq!(
        recorder.epochs.iter().map(|m| m.epoch).collect::<Vec<_>>(),
        vec![2, 3],
        "{device}: the resumed invocation trains epochs 2 and 3 only"
    );
    assert_eq!(bits(&recorder.epochs), bits(&uninterrupted[1..]), "{device}: epochs 2-3 after resume");
    // The returned history includes epoch 1, read back from the checkpoint.
    assert_eq!(bits(&history), bits(uninterrupted), "{device}: full history after resume");
    let files: Vec<u32> =
        checkpoint::list(&dir.path().join("checkpoints")).into_iter().map(|(e, _)| e).collect();
    assert_eq!(files, vec![1, 2, 3], "{device}: checkpoints after resume");
}

/// A [`Recorder`] that asks the run to stop once it has seen `stop_after` steps.
struct StopAfter {
    recorder: Recorder,
    stop_after: usize,
}

impl pixelcnn_train::RunObserver for StopAfter {
    fn started(&mut self, start: &pixelcnn_train::RunStart) {
        self.recorder.started(start);
    }
    fn step(&mut self, progress: &pixelcnn_train::StepProgress) {
        self.recorder.step(progress);
    }
    fn epoch(&mut self, m: &EpochMetrics, a: &[pixelcnn_train::Artefact]) -> Result<(), String> {
        self.recorder.epoch(m, a)
    }
    fn stop_requested(&self) -> bool {
        self.recorder.steps.len() >= self.stop_after
    }
}

/// Stopped in the middle of epoch 2 (Ctrl-C, SIGTERM, Slurm's time-limit warning), the run leaves a
/// step checkpoint and goes on from the next step: the same numbers as the uninterrupted run, bit
/// for bit, without training the stopped epoch's first steps again.
fn stop_within_an_epoch_resumes_at_the_next_step(device: &str) {
    let uninterrupted = reference(device);
    let dir = tempfile::tempdir().expect("temp dir");
    let checkpoints = dir.path().join("checkpoints");
    let steps_per_epoch = 256 / 32;
    let (stopped_at, resumed_at) = {
        let _lock = training_lock();
        let mut stopping = StopAfter { recorder: Recorder::default(), stop_after: steps_per_epoch + 3 };
        let result = Trainer::new(config(device, SEED), dir.path()).expect("run sets up").run(&mut stopping);
        assert!(matches!(result, Err(TrainError::Stopped(_))), "{device}: {result:?}");
        assert_eq!(bits(&stopping.recorder.epochs), bits(&uninterrupted[..1]), "{device}: epoch 1");
        let point = checkpoint::resume_point(&checkpoints, 1).expect("a resume point");
        assert_eq!(point, checkpoints.join(checkpoint::STEP_CHECKPOINT), "{device}: the step checkpoint");
        let header = checkpoint::Checkpoint::read(&point).expect("readable").header;
        assert_eq!(header.position.within_epoch.as_ref().map(|p| p.steps), Some(3), "{device}");

        let mut recorder = Recorder::default();
        let history = Trainer::resume(&point, config(device, SEED), dir.path())
            .expect("resume sets up")
            .run(&mut recorder)
            .expect("resumed run trains");
        assert_eq!(bits(&history), bits(uninterrupted), "{device}: full history after a mid-epoch stop");
        assert_eq!(bits(&recorder.epochs), bits(&uninterrupted[1..]), "{device}: epochs 2-3");
        (stopping.recorder.steps.len(), recorder.steps.first().map(|s| (s.epoch, s.step_in_epoch)))
    };
    assert_eq!(stopped_at, steps_per_epoch + 3);
    assert_eq!(resumed_at, Some((2, 4)), "{device}: the resumed run starts at the next step");
    assert!(!checkpoints.join(checkpoint::STEP_CHECKPOINT).exists(), "{device}: removed once epoch 2 ended");
    assert_eq!(checkpoint::resume_point(&checkpoints, 3), Some(checkpoints.join(checkpoint::file_name(3))));
}

#[test]
fn stop_within_an_epoch_resumes_at_the_next_step_on_libtorch_cpu() {
    stop_within_an_epoch_resumes_at_the_next_step("cpu");
}

#[test]
fn stop_within_an_epoch_resumes_at_the_next_step_on_flex() {
    stop_within_an_epoch_resumes_at_the_next_step("flex");
}

#[test]
fn same_seed_is_bitwise_identical_on_libtorch_cpu() {
    same_seed_is_bitwise_identical("cpu");
}

#[test]
fn same_seed_is_bitwise_identical_on_flex() {
    same_seed_is_bitwise_identical("flex");
}

#[test]
fn different_seed_differs_on_libtorch_cpu() {
    different_seed_differs("cpu");
}

#[test]
fn different_seed_differs_on_flex() {
    different_seed_differs("flex");
}

#[test]
fn resume_continues_bitwise_on_libtorch_cpu() {
    resume_continues_bitwise("cpu");
}

#[test]
fn resume_continues_bitwise_on_flex() {
    resume_continues_bitwise("flex");
}

#[test]
fn resume_with_changed_lr_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut short = config("cpu", SEED);
    short.train.epochs = 1;
    train(&short, dir.path());
    let ckpt = dir.path().join("checkpoints").join(checkpoint::file_name(1));

    let mut changed = config("cpu", SEED);
    changed.train.lr *= 2.0;
    let err = Trainer::resume(&ckpt, changed, dir.path()).err().expect("a changed lr must be refused");
    let message = err.to_string();
    match &err {
        TrainError::Checkpoint { path, .. } => assert_eq!(path, &ckpt, "the error names the checkpoint"),
        other => panic!("expected a checkpoint error, got {other:?}"),
    }
    assert!(message.contains("train.lr"), "the error names the key: {message}");

    // Keys outside the run's identity may change: more epochs, other sampling and retention.
    let mut allowed = config("cpu", SEED);
    allowed.train.epochs = 5;
    allowed.sample.count = 10;
    allowed.checkpoint.keep_last = 2;
    assert!(Trainer::resume(&ckpt, allowed, dir.path()).is_ok(), "harmless changes were refused");
}

/// The gated family's state (label biases included) goes through a checkpoint: one epoch, then a
/// resumed second, is the uninterrupted two-epoch run, bit for bit.
#[test]
fn a_conditional_gated_run_resumes_bitwise() {
    let mut two = config("cpu", SEED);
    two.train.epochs = 2;
    two.model.family = ModelFamily::Gated;
    two.model.condition = Condition::Label;
    two.model.gated = GatedKeys { layers: 2, channels: 4, kernel: 3 };
    let reference = tempfile::tempdir().expect("temp dir");
    let (uninterrupted, _) = train(&two, reference.path());
    let dir = tempfile::tempdir().expect("temp dir");
    let (first, _) = train(
        &RunConfig { train: pixelcnn_config::TrainConfig { epochs: 1, ..two.train.clone() }, ..two.clone() },
        dir.path(),
    );
    assert_eq!(bits(&first), bits(&uninterrupted[..1]));
    let ckpt = dir.path().join("checkpoints").join(checkpoint::file_name(1));
    let _lock = training_lock();
    let history =
        Trainer::resume(&ckpt, two, dir.path()).expect("resume sets up").run(&mut Recorder::default());
    assert_eq!(bits(&history.expect("resumed run trains")), bits(&uninterrupted));
}
