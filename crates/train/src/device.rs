//! Turning the configured `device` into a burn device, with the thread count fixed per run (the
//! numbers of a run depend on it) and CUDA asked for only where it exists.

use burn::tensor::Device;
use pixelcnn_config::DeviceSpec;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// The device a run trains on, as recorded with its results.
#[derive(Debug, Clone)]
pub struct SelectedDevice {
    /// The burn device (not autodiff).
    pub device: Device,
    /// What was chosen, for logs and records.
    pub info: DeviceInfo,
}

/// A description of the chosen device that travels with a run's results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// `libtorch-cpu`, `libtorch-cuda:N` or `flex`.
    pub name: String,
    /// Intra-op threads the backend was set to.
    pub threads: usize,
}

/// CUDA devices libtorch can use (0 in a build without libtorch).
pub fn cuda_device_count() -> usize {
    #[cfg(feature = "tch")]
    {
        usize::try_from(tch::Cuda::device_count()).unwrap_or(0)
    }
    #[cfg(not(feature = "tch"))]
    {
        0
    }
}

/// Resolves `spec` on this machine and fixes the thread count (`0`: one per available core).
pub fn select(spec: DeviceSpec, threads: usize) -> Result<SelectedDevice> {
    let threads =
        if threads == 0 { std::thread::available_parallelism().map_or(1, usize::from) } else { threads };
    let resolved = match spec {
        DeviceSpec::Auto if cfg!(feature = "tch") => {
            if cuda_device_count() > 0 {
                DeviceSpec::Cuda(0)
            } else {
                DeviceSpec::Cpu
            }
        }
        DeviceSpec::Auto => DeviceSpec::Flex,
        other => other,
    };
    let (device, name) = build(resolved, threads)?;
    Ok(SelectedDevice { device, info: DeviceInfo { name, threads } })
}

#[allow(deprecated)] // burn 0.22 marks its libtorch devices deprecated; libtorch is our main backend.
fn build(spec: DeviceSpec, threads: usize) -> Result<(Device, String)> {
    match spec {
        #[cfg(feature = "tch")]
        DeviceSpec::Cpu => {
            set_libtorch_threads(threads);
            Ok((Device::libtorch(), "libtorch-cpu".into()))
        }
        #[cfg(feature = "tch")]
        DeviceSpec::Cuda(index) => {
            let found = cuda_device_count();
            if index >= found {
                return Err(TrainError::NoCuda { requested: index, found });
            }
            set_libtorch_threads(threads);
            // cuDNN's autotuner picks algorithms by timing, which makes reruns differ.
            tch::Cuda::cudnn_set_benchmark(false);
            Ok((Device::libtorch_cuda(index), format!("libtorch-cuda:{index}")))
        }
        #[cfg(feature = "flex")]
        DeviceSpec::Flex => {
            set_flex_threads(threads)?;
            Ok((Device::flex(), "flex".into()))
        }
        other => Err(TrainError::BackendMissing(other.to_string())),
    }
}

#[cfg(feature = "tch")]
fn set_libtorch_threads(threads: usize) {
    tch::set_num_threads(i32::try_from(threads).unwrap_or(i32::MAX));
}

/// Flex parallelises through rayon's global pool, which can be sized once per process.
#[cfg(feature = "flex")]
fn set_flex_threads(threads: usize) -> Result<()> {
    let built = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
    if built.is_err() && rayon::current_num_threads() != threads {
        return Err(TrainError::ThreadsFixed { requested: threads, fixed: rayon::current_num_threads() });
    }
    Ok(())
}
