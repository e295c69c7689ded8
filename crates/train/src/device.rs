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

/// The `device` values this build accepts, for messages: `auto`, then `cpu` and the CUDA devices
/// with libtorch (`cuda:0`.. for a machine with `cuda` devices, `cuda:N` when unknown), then
/// `flex` with flex.
pub fn accepted_devices(cuda: Option<usize>) -> Vec<String> {
    let mut names = vec!["auto".to_owned()];
    if cfg!(feature = "tch") {
        names.push("cpu".into());
        match cuda {
            Some(n) => names.extend((0..n).map(|i| format!("cuda:{i}"))),
            None => names.push("cuda:N".into()),
        }
    }
    if cfg!(feature = "flex") {
        names.push("flex".into());
    }
    names
}

/// Resolves `spec` on this machine without building anything: `auto` becomes CUDA device 0 when
/// there is one, else libtorch's CPU (flex in a build without libtorch); a CUDA index beyond the
/// visible devices, or a backend this build lacks, is an error that names the device asked for and
/// what exists. [`select`] goes through this check, so a check made before a run is started (a
/// sweep's preflight) and the run itself agree.
pub fn check(spec: DeviceSpec) -> Result<DeviceSpec> {
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
    match resolved {
        DeviceSpec::Cpu if cfg!(feature = "tch") => Ok(resolved),
        DeviceSpec::Cuda(index) if cfg!(feature = "tch") => {
            let found = cuda_device_count();
            if index >= found {
                return Err(TrainError::NoCuda { requested: index, found });
            }
            Ok(resolved)
        }
        DeviceSpec::Flex if cfg!(feature = "flex") => Ok(resolved),
        other => Err(TrainError::BackendMissing(other.to_string())),
    }
}

/// Resolves `spec` on this machine (see [`check`]) and fixes the thread count (`0`: one per
/// available core).
pub fn select(spec: DeviceSpec, threads: usize) -> Result<SelectedDevice> {
    let threads =
        if threads == 0 { std::thread::available_parallelism().map_or(1, usize::from) } else { threads };
    let (device, name) = build(check(spec)?, threads)?;
    Ok(SelectedDevice { device, info: DeviceInfo { name, threads } })
}

/// Builds a device [`check`] accepted.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_resolves_auto_and_names_what_exists_when_it_refuses() {
        let auto = check(DeviceSpec::Auto).expect("auto always resolves");
        assert_ne!(auto, DeviceSpec::Auto);
        assert_eq!(check(auto).expect("what auto resolves to is accepted"), auto);
        let cuda = cuda_device_count();
        let message = check(DeviceSpec::Cuda(cuda + 7)).expect_err("no such CUDA device").to_string();
        assert!(message.contains(&format!("device = \"cuda:{}\"", cuda + 7)), "{message}");
        for name in accepted_devices(Some(cuda)) {
            assert!(message.contains(&name), "{message} lists {name}");
        }
    }
}
