//! What can be checked before anything is written: an invalid request changes nothing. Before a
//! sweep opens its store (and before `rerun` or `train` write anything), every planned run's
//! `device` is resolved on this machine by the rule the trainer applies ([`crate::device::check`]), and every distinct data folder is checked to hold the four
//! MNIST IDX files, readable and well-formed ([`pixelcnn_data::mnist::check_dir`]: magic numbers,
//! dimensions against lengths, gzip streams, image and label counts), each read once as a stream.
//! The checksums that check computes are the ones a run's identity needs, so callers reuse them
//! instead of hashing the files again.

use std::collections::HashMap;
use std::path::PathBuf;

use pixelcnn_config::{DeviceSpec, RunConfig};
use pixelcnn_data::DataError;
use pixelcnn_data::mnist::{self, CheckedFiles};

use crate::error::Result;

/// `(standard file name, SHA-256)` of each file of a data folder, by folder.
pub type DataChecksums = HashMap<PathBuf, Vec<(String, String)>>;

/// The data folder a configuration reads: `data.dir`, else the cache's `mnist/`.
pub fn data_dir(config: &RunConfig) -> PathBuf {
    config.data.dir.clone().unwrap_or_else(mnist::default_dir)
}

/// Checks the device and the data of every configuration; returns the checksums of each distinct
/// data folder (keyed by [`data_dir`]). The first problem found is the error: a device this machine
/// or build cannot give (naming `device`, what was asked and what exists), a data folder that is
/// missing or lacks a file, a file that is unreadable, corrupt or truncated (naming the file), or a
/// `data.validation_size` that leaves no training images. Each folder is read once, each device
/// resolved once.
pub fn check<'a>(configs: impl IntoIterator<Item = &'a RunConfig>) -> Result<DataChecksums> {
    let mut devices: Vec<DeviceSpec> = Vec::new();
    let mut folders: HashMap<PathBuf, CheckedFiles> = HashMap::new();
    for config in configs {
        if !devices.contains(&config.device) {
            crate::device::check(config.device)?;
            devices.push(config.device);
        }
        let dir = data_dir(config);
        if !folders.contains_key(&dir) {
            let checked = mnist::check_dir(&dir)?;
            folders.insert(dir.clone(), checked);
        }
        let train = folders[&dir].train_count;
        let validation = config.data.validation_size;
        if validation >= train {
            return Err(DataError::ValidationTooLarge { validation, train }.into());
        }
    }
    Ok(folders.into_iter().map(|(dir, checked)| (dir, checked.checksums())).collect())
}
