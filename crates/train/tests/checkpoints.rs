//! Checkpoint files: retention keeps the most recent and the best epochs, header numbers survive a
//! write and read exactly, and damaged or foreign files are reported as checkpoint errors naming the
//! file, never a panic.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pixelcnn_config::{DeviceSpec, ModelFamily, RunConfig};
use pixelcnn_data::{DataLimits, Mnist, QuantisedSplit, mnist};
use pixelcnn_record::{EpochMetrics, Retention, bits_per_dim};
use pixelcnn_train::checkpoint::{self, Checkpoint, CheckpointHeader, EpochProgress, RunPosition};
use pixelcnn_train::{RunObserver, TrainError, Trainer, device, mean_nll};
use sha2::{Digest, Sha256};

use common::{THREADS, tiny_config, training_lock};

fn touch(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, name).expect("write fake file");
    path
}

/// Keep the last `n` and the best.
fn keep(keep_last: usize) -> Retention {
    Retention { keep_last, keep_best: true }
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("dir entry").file_name().into_string().expect("utf-8 name"))
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn list_orders_checkpoints_by_epoch_and_ignores_other_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["epoch-0010.ckpt", "epoch-0002.ckpt", "epoch-12345.ckpt", "epoch-0009.ckpt"] {
        touch(dir.path(), name);
    }
    for name in ["epoch-abcd.ckpt", "epoch-0003.ckpt.tmp-17", "samples-epoch-0001.png", "notes.txt"] {
        touch(dir.path(), name);
    }
    let listed: Vec<(u32, String)> = checkpoint::list(dir.path())
        .into_iter()
        .map(|(e, p)| (e, p.file_name().unwrap().to_string_lossy().into_owned()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (2, "epoch-0002.ckpt".to_owned()),
            (9, "epoch-0009.ckpt".to_owned()),
            (10, "epoch-0010.ckpt".to_owned()),
            (12345, "epoch-12345.ckpt".to_owned()),
        ]
    );
    assert_eq!(checkpoint::file_name(7), "epoch-0007.ckpt");
    assert!(checkpoint::list(&dir.path().join("missing")).is_empty(), "a missing folder lists nothing");
}

#[test]
fn prune_keeps_the_last_and_the_best() {
    let dir = tempfile::tempdir().expect("temp dir");
    for epoch in 1..=6 {
        touch(dir.path(), &checkpoint::file_name(epoch));
    }
    touch(dir.path(), "notes.txt");

    // Keep the last two and epoch 3 (the best).
    let removed = checkpoint::prune(dir.path(), &keep(2), Some(3)).expect("prune");
    let removed: BTreeSet<String> =
        removed.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(removed, set(&["epoch-0001.ckpt", "epoch-0002.ckpt", "epoch-0004.ckpt"]));
    assert_eq!(
        names(dir.path()),
        set(&["epoch-0003.ckpt", "epoch-0005.ckpt", "epoch-0006.ckpt", "notes.txt"])
    );

    // The best among the last: nothing extra is kept; without a best only the last stays.
    let removed = checkpoint::prune(dir.path(), &keep(2), Some(6)).expect("prune");
    assert_eq!(removed, vec![dir.path().join("epoch-0003.ckpt")]);
    let removed = checkpoint::prune(dir.path(), &keep(1), None).expect("prune");
    assert_eq!(removed, vec![dir.path().join("epoch-0005.ckpt")]);
    assert_eq!(names(dir.path()), set(&["epoch-0006.ckpt", "notes.txt"]));

    // Keeping more than exist removes nothing.
    assert!(checkpoint::prune(dir.path(), &keep(10), None).expect("prune").is_empty());
}

/// Records epochs and pruned files.
#[derive(Default)]
struct Pruning {
    epochs: Vec<EpochMetrics>,
    pruned: Vec<PathBuf>,
}

impl RunObserver for Pruning {
    fn epoch(&mut self, metrics: &EpochMetrics, _: &[pixelcnn_train::Artefact]) -> Result<(), String> {
        self.epochs.push(metrics.clone());
        Ok(())
    }

    fn pruned(&mut self, paths: &[PathBuf]) {
        self.pruned.extend_from_slice(paths);
    }
}

fn retention_config(keep_last: usize, keep_best: bool) -> RunConfig {
    let mut config = tiny_config("cpu", 2, 3);
    // One step per epoch on two images with a rate far too high: the test NLL jumps around, and
    // with this seed the best epoch (4) is not the last (6), so retention has two files to keep.
    config.data.train_limit = Some(2);
    config.train.batch_size = 2;
    config.train.epochs = 6;
    config.train.lr = 0.5;
    config.checkpoint.keep_last = keep_last;
    config.checkpoint.keep_best = keep_best;
    config
}

/// Trains with the given retention; returns the run's folder, its metrics and what was pruned.
fn run_with_retention(config: &RunConfig) -> (tempfile::TempDir, Vec<EpochMetrics>, Vec<PathBuf>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let _lock = training_lock();
    let mut observer = Pruning::default();
    let history =
        Trainer::new(config.clone(), dir.path()).expect("run sets up").run(&mut observer).expect("run");
    assert_eq!(observer.epochs, history);
    (dir, history, observer.pruned)
}

fn remaining_epochs(dir: &Path) -> BTreeSet<u32> {
    checkpoint::list(&dir.join("checkpoints")).into_iter().map(|(e, _)| e).collect()
}

fn best_epoch(history: &[EpochMetrics]) -> u32 {
    // The first epoch with the lowest validation NLL, else test NLL (a later tie is not better).
    let selection = |m: &EpochMetrics| m.validation_nll.unwrap_or(m.test_nll);
    let mut best = &history[0];
    for m in history {
        if selection(m) < selection(best) {
            best = m;
        }
    }
    best.epoch
}

#[test]
fn a_real_run_keeps_only_the_last_and_the_best() {
    let (dir, history, pruned) = run_with_retention(&retention_config(1, true));
    let last = history.last().expect("epochs").epoch;
    let expected: BTreeSet<u32> = [last, best_epoch(&history)].into();
    assert_eq!(remaining_epochs(dir.path()), expected, "history: {history:#?}");
    // Everything else was deleted and reported as such.
    let pruned: BTreeSet<PathBuf> = pruned.into_iter().collect();
    let expected_pruned: BTreeSet<PathBuf> = (1..=last)
        .filter(|e| !expected.contains(e))
        .map(|e| dir.path().join("checkpoints").join(checkpoint::file_name(e)))
        .collect();
    assert_eq!(pruned, expected_pruned);
    // The checkpoint of the best epoch records it as the best.
    let best = best_epoch(&history);
    let path = dir.path().join("checkpoints").join(checkpoint::file_name(last));
    let header = Checkpoint::read(&path).expect("last checkpoint reads").header;
    assert_eq!(header.position.best.map(|b| b.epoch), Some(best));
    assert_eq!(header.position.epoch, last as usize);
    assert_eq!(header.position.history, history, "the header's history is exact");
}

#[test]
fn a_real_run_without_keep_best_keeps_the_last_two() {
    let (dir, history, _) = run_with_retention(&retention_config(2, false));
    let last = history.last().expect("epochs").epoch;
    assert_eq!(remaining_epochs(dir.path()), [last - 1, last].into());
}

/// A real checkpoint, written once per process by a one-epoch run (in cargo's temporary folder
/// for integration tests: a static's temporary directory would never be deleted).
fn real_checkpoint() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pixelcnn-train-checkpoints-test");
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = tiny_config("cpu", 2, 5);
        config.data.train_limit = Some(64);
        config.train.epochs = 1;
        let _lock = training_lock();
        Trainer::new(config, &dir).expect("run sets up").run(&mut pixelcnn_train::Silent).expect("run");
        dir
    });
    dir.join("checkpoints").join(checkpoint::file_name(1))
}

/// The bytes of the real checkpoint, and where in `dir` to write damaged copies of them.
fn copy_of_real(dir: &Path, name: &str) -> (PathBuf, Vec<u8>) {
    let bytes = std::fs::read(real_checkpoint()).expect("read real checkpoint");
    (dir.join(name), bytes)
}

/// The error must be `TrainError::Checkpoint` naming `path`; returns its message.
fn checkpoint_error(result: Result<impl std::fmt::Debug, TrainError>, path: &Path) -> String {
    match result {
        Err(TrainError::Checkpoint { path: named, message }) => {
            assert_eq!(named, path, "the error names the file");
            let err = TrainError::Checkpoint { path: named, message: message.clone() };
            assert!(err.to_string().contains(&path.display().to_string()), "display names the file: {err}");
            message
        }
        other => panic!("expected a checkpoint error for {}, got {other:?}", path.display()),
    }
}

fn resume_config() -> RunConfig {
    let mut config = tiny_config("cpu", 2, 5);
    config.data.train_limit = Some(64);
    config.train.epochs = 2;
    config
}

#[test]
fn the_real_checkpoint_reads_and_resumes() {
    let path = &real_checkpoint();
    let ckpt = Checkpoint::read(path).expect("intact checkpoint reads");
    assert_eq!(ckpt.header.position.epoch, 1);
    assert_eq!(ckpt.header.config.model.levels.get(), 2);
    let device = device::select(DeviceSpec::Cpu, THREADS).expect("cpu").device;
    let model = ckpt.model(path, &device).expect("model loads");
    assert_eq!(model.levels(), 2);
    let out = tempfile::tempdir().expect("temp dir");
    assert!(Trainer::resume(path, resume_config(), out.path()).is_ok());
}

/// A checkpoint written before `model.family` existed, by commit 11ba342 (`pixelcnn train`, one
/// epoch of a 1-block, h = 4, q = 2 model on 256 images, libtorch CPU, one thread): its header
/// names no family and its model section holds the bare PixelCNN's parameter paths.
fn checkpoint_from_before_model_families() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/before-model-family.ckpt")
}

/// That checkpoint still reads as a PixelCNN, evaluates to the test NLL its run recorded, and
/// resumes to exactly the epochs that commit trained from it (`--set train.epochs=3`).
#[test]
fn a_checkpoint_from_before_model_families_loads_and_resumes_bit_for_bit() {
    let path = &checkpoint_from_before_model_families();
    let ckpt = Checkpoint::read(path).expect("old checkpoint reads");
    assert_eq!(ckpt.header.config.model.family, ModelFamily::PixelCnn);
    let device = device::select(DeviceSpec::Cpu, THREADS).expect("cpu").device;
    let model = ckpt.model(path, &device).expect("the old model section loads");
    let limits = DataLimits { train_limit: Some(1), test_limit: Some(64), validation_size: 0 };
    let data = Mnist::load(&mnist::default_dir(), &limits).expect("real MNIST is installed");
    let test = QuantisedSplit::new(&data.test, pixelcnn_config::Levels::new(2).expect("valid q"));
    let recorded = &ckpt.header.position.history[0];
    assert_eq!(mean_nll(&model, &test, 64, &device), recorded.test_nll);

    let mut config = ckpt.header.config.clone();
    config.train.epochs = 3;
    let out = tempfile::tempdir().expect("temp dir");
    let _lock = training_lock();
    let history = Trainer::resume(path, config, out.path())
        .expect("old checkpoint resumes")
        .run(&mut pixelcnn_train::Silent)
        .expect("run");
    // Printed by commit 11ba342 after resuming from this checkpoint (metrics.jsonl).
    let expected = [
        (2, 8, 0.672_276_139_259_338_4, 0.665_347_897_276_586_4, 0.000_999_960_000_699_992_8),
        (3, 12, 0.660_598_993_301_391_6, 0.652_974_264_962_332_6, 0.000_999_940_001_649_972_2),
    ];
    let got: Vec<_> = history[1..].iter().map(|m| (m.epoch, m.step, m.train_nll, m.test_nll, m.lr)).collect();
    assert_eq!(got, expected);
}

#[test]
fn a_flipped_byte_is_reported_not_loaded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, mut bytes) = copy_of_real(dir.path(), "epoch-0001.ckpt");
    // One byte in each region: header, model, optimizer, digest.
    let len = bytes.len();
    for at in [40, len / 2, len - 40, len - 1] {
        let original = bytes[at];
        bytes[at] ^= 0x10;
        std::fs::write(&path, &bytes).expect("write damaged copy");
        let message = checkpoint_error(Checkpoint::read(&path), &path);
        assert!(message.contains("corrupt"), "byte {at}: {message}");
        checkpoint_error(Trainer::resume(&path, resume_config(), dir.path()).map(|_| ()), &path);
        bytes[at] = original;
    }
    std::fs::write(&path, &bytes).expect("write intact copy");
    assert!(Checkpoint::read(&path).is_ok(), "the undamaged copy reads");
}

#[test]
fn a_truncated_checkpoint_is_reported_not_loaded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, bytes) = copy_of_real(dir.path(), "epoch-0001.ckpt");
    for keep in [bytes.len() - 1, bytes.len() / 2, 60, 20, 16, 8, 0] {
        std::fs::write(&path, &bytes[..keep]).expect("write truncated copy");
        let message = checkpoint_error(Checkpoint::read(&path), &path);
        assert!(!message.is_empty(), "{keep} bytes: empty message");
        checkpoint_error(Trainer::resume(&path, resume_config(), dir.path()).map(|_| ()), &path);
    }
}

#[test]
fn a_foreign_file_is_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("epoch-0001.ckpt");
    std::fs::write(&path, b"{\"this\": \"is json, not a checkpoint\", \"padding\": \"................\"}")
        .expect("write");
    let message = checkpoint_error(Checkpoint::read(&path), &path);
    assert!(message.contains("not a pixelcnn-lab checkpoint"), "{message}");

    // A missing file is an I/O error that names it.
    let missing = dir.path().join("epoch-0002.ckpt");
    match Checkpoint::read(&missing) {
        Err(TrainError::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

/// A file with the right layout and a valid digest around the given sections.
fn container(sections: [&[u8]; 3]) -> Vec<u8> {
    let mut bytes = b"PIXELCNN-CKPT-v1".to_vec();
    for section in sections {
        bytes.extend_from_slice(&(section.len() as u64).to_le_bytes());
        bytes.extend_from_slice(section);
    }
    let digest = Sha256::digest(&bytes);
    bytes.extend_from_slice(&digest);
    bytes
}

#[test]
fn a_well_formed_file_with_bad_content_is_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("epoch-0001.ckpt");

    // Valid digest, header not JSON.
    std::fs::write(&path, container([b"not json", b"", b""])).expect("write");
    let message = checkpoint_error(Checkpoint::read(&path), &path);
    assert!(message.contains("header"), "{message}");

    // Valid digest, a section length running past the end.
    let mut bytes = b"PIXELCNN-CKPT-v1".to_vec();
    bytes.extend_from_slice(&u64::MAX.to_le_bytes());
    let digest = Sha256::digest(&bytes);
    bytes.extend_from_slice(&digest);
    std::fs::write(&path, &bytes).expect("write");
    let message = checkpoint_error(Checkpoint::read(&path), &path);
    assert!(message.contains("truncated"), "{message}");

    // Valid header, model and optimizer sections that are not burnpack.
    let real = Checkpoint::read(&real_checkpoint()).expect("real checkpoint");
    let bad =
        Checkpoint { header: real.header.clone(), model: b"garbage".to_vec(), optimizer: b"junk".to_vec() };
    bad.write(&path).expect("write");
    let read = Checkpoint::read(&path).expect("the container itself is intact");
    let device = device::select(DeviceSpec::Cpu, THREADS).expect("cpu").device;
    let message = checkpoint_error(read.model(&path, &device), &path);
    assert!(message.contains("model"), "{message}");
    checkpoint_error(Trainer::resume(&path, resume_config(), dir.path()).map(|_| ()), &path);

    // A real model, real optimizer, but a header describing another architecture.
    let mut other = real.header.clone();
    other.config.model.hidden *= 2;
    let mismatched =
        Checkpoint { header: other, model: real.model.clone(), optimizer: real.optimizer.clone() };
    mismatched.write(&path).expect("write");
    let read = Checkpoint::read(&path).expect("the container itself is intact");
    checkpoint_error(read.model(&path, &device), &path);
}

#[test]
fn header_numbers_survive_a_write_and_read_exactly() {
    // Values whose shortest decimal form a best-effort float parser reads back one ulp off (found
    // in real checkpoints), and a learning rate after many decays.
    let hard = [f64::from_bits(4_608_770_129_696_653_312), f64::from_bits(4_611_171_559_466_486_850)];
    let mut lr = 1e-3;
    for _ in 0..12_345 {
        lr *= 0.999_995;
    }
    let metrics: Vec<EpochMetrics> = (0..200u32)
        .map(|i| {
            let x = 0.1 + f64::from(i) * 0.013_579_246_8 + hard[0] * 1e-9;
            EpochMetrics {
                epoch: i + 1,
                step: u64::from(i) * 469,
                train_nll: if i < 2 { hard[i as usize] } else { x.sin().abs() },
                validation_nll: Some(x.cos().abs()),
                test_nll: x.sqrt(),
                test_bits_per_dim: bits_per_dim(x.sqrt()),
                test_nats_per_image: x.sqrt() * 784.0,
                lr: lr * (1.0 - x / 1e3),
                seconds: x.exp(),
                images_per_second: 1.0 / x,
            }
        })
        .collect();
    let header = CheckpointHeader {
        config: RunConfig::default(),
        position: RunPosition {
            epoch: metrics.len(),
            step: 93_800,
            lr,
            best: Some(metrics[17].clone()),
            history: metrics,
            // A step checkpoint's progress: the loss sum is an f32 value and must stay exact.
            within_epoch: Some(EpochProgress { steps: 17, loss_sum: f64::from(1234.567_f32) }),
        },
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("epoch-0200.ckpt");
    Checkpoint { header: header.clone(), model: vec![1, 2, 3], optimizer: vec![4, 5] }
        .write(&path)
        .expect("write");
    let read = Checkpoint::read(&path).expect("read");
    assert_eq!(read.header.position.lr.to_bits(), lr.to_bits(), "learning rate");
    for (a, b) in read.header.position.history.iter().zip(&header.position.history) {
        assert_eq!(a, b, "epoch {}", b.epoch);
    }
    assert_eq!(read.header, header);
    assert_eq!((read.model, read.optimizer), (vec![1, 2, 3], vec![4, 5]));
    assert_eq!(names(dir.path()), set(&["epoch-0200.ckpt"]), "no temporary file is left behind");
}
