//! Device selection on a machine without CUDA (this one): asking for CUDA is an error that says so
//! and what to use instead, never a panic; `auto` falls back to libtorch's CPU backend; flex's
//! thread count is fixed once per process.

mod common;

use pixelcnn_config::DeviceSpec;
use pixelcnn_train::device::{self, cuda_device_count};
use pixelcnn_train::{TrainError, Trainer};

use common::{THREADS, tiny_config};

#[test]
fn cuda_beyond_the_visible_devices_is_an_error() {
    let found = cuda_device_count();
    for requested in [found, found + 3] {
        let err = device::select(DeviceSpec::Cuda(requested), 1).expect_err("no such CUDA device");
        match &err {
            TrainError::NoCuda { requested: r, found: f } => assert_eq!((*r, *f), (requested, found)),
            other => panic!("expected NoCuda, got {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains(&format!("cuda:{requested}")), "{message}");
        assert!(message.contains(&format!("{found} CUDA device(s) are usable")), "{message}");
        assert!(message.contains("\"cpu\""), "the message suggests the CPU: {message}");
    }
}

#[test]
fn without_cuda_cuda_is_unavailable_and_auto_is_libtorch_cpu() {
    if cuda_device_count() > 0 {
        eprintln!("skipped: this machine has CUDA");
        return;
    }
    let err = device::select(DeviceSpec::Cuda(0), 1).expect_err("CUDA is not available here");
    assert!(matches!(err, TrainError::NoCuda { requested: 0, found: 0 }), "{err:?}");
    assert!(err.to_string().contains("0 CUDA device(s)"), "{err}");

    let auto = device::select(DeviceSpec::Auto, THREADS).expect("auto always resolves");
    assert_eq!(auto.info.name, "libtorch-cpu");
    assert_eq!(auto.info.threads, THREADS);
    let cpu = device::select(DeviceSpec::Cpu, THREADS).expect("cpu");
    assert_eq!(cpu.info.name, "libtorch-cpu");
    assert_eq!(cpu.device, auto.device, "auto is the libtorch CPU device");
}

#[test]
fn zero_threads_means_one_per_core() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let cpu = device::select(DeviceSpec::Cpu, 0).expect("cpu");
    assert_eq!(cpu.info.threads, cores);
    // Leave libtorch as the other tests expect it.
    device::select(DeviceSpec::Cpu, THREADS).expect("cpu");
}

#[test]
fn a_run_on_missing_cuda_fails_before_training() {
    if cuda_device_count() > 0 {
        eprintln!("skipped: this machine has CUDA");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let err = Trainer::new(tiny_config("cuda", 2, 1), dir.path()).err().expect("no CUDA here");
    assert!(matches!(err, TrainError::NoCuda { requested: 0, found: 0 }), "{err:?}");
    assert!(!dir.path().join("checkpoints").exists(), "nothing was written");
}

#[test]
fn flex_threads_are_fixed_once_per_process() {
    // The only test of this binary that touches flex, so the pool is sized here first.
    let flex = device::select(DeviceSpec::Flex, THREADS).expect("flex");
    assert_eq!(flex.info.name, "flex");
    assert_eq!(flex.info.threads, THREADS);
    device::select(DeviceSpec::Flex, THREADS).expect("the same count again is fine");
    let err = device::select(DeviceSpec::Flex, THREADS + 1).expect_err("another count is refused");
    match err {
        TrainError::ThreadsFixed { requested, fixed } => {
            assert_eq!((requested, fixed), (THREADS + 1, THREADS))
        }
        other => panic!("expected ThreadsFixed, got {other:?}"),
    }
}
