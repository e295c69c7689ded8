//! Local device slots: where this machine can run workers at once. A worker is started on a slot
//! and claims with it, so the claim records the slot (device, threads) with the run.

use pixelcnn_config::DeviceSpec;

/// A place a worker can run: a device override and a thread count.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub(crate) device: Option<DeviceSpec>,
    pub(crate) threads: Option<usize>,
}

impl Slot {
    /// `parallel` slots per CUDA device, or (without CUDA) `parallel` slots sharing the cores.
    pub(crate) fn local(parallel: usize) -> Vec<Self> {
        let parallel = parallel.max(1);
        let cuda = pixelcnn_train::device::cuda_device_count();
        if cuda > 0 {
            return (0..cuda)
                .flat_map(|d| {
                    (0..parallel).map(move |_| Self { device: Some(DeviceSpec::Cuda(d)), threads: None })
                })
                .collect();
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let threads = (cores / parallel).max(1);
        (0..parallel).map(|_| Self { device: None, threads: Some(threads) }).collect()
    }
}
