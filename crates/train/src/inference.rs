//! A saved model put to use: checkpoint -> device -> model -> levels -> data, done here once for
//! every command that evaluates or samples a trained model (`pixelcnn eval`, `pixelcnn sample`).

use std::path::{Path, PathBuf};

use pixelcnn_config::{DeviceSpec, RunConfig};
use pixelcnn_data::{DataLimits, Mnist, QuantisedSplit};
use pixelcnn_model::Model;

use crate::checkpoint::Checkpoint;
use crate::device::{self, SelectedDevice};
use crate::error::Result;
use crate::preflight::data_dir;

/// A trained model loaded from a checkpoint for inference, with what it was trained by.
pub struct Trained {
    /// The checkpoint it came from.
    pub path: PathBuf,
    /// The configuration that trained it.
    pub config: RunConfig,
    /// Epochs it had trained.
    pub epoch: usize,
    /// Where it runs.
    pub device: SelectedDevice,
    /// The inference model (no autodiff).
    pub model: Model,
}

impl Trained {
    /// Reads and verifies `path` and loads its model on `device`, else on the device (and with
    /// the threads) its configuration names. Errors name the checkpoint, or the device and what
    /// this machine has.
    pub fn load(path: &Path, device: Option<DeviceSpec>) -> Result<Self> {
        let ckpt = Checkpoint::read(path)?;
        let config = ckpt.header.config.clone();
        let selected = device::select(device.unwrap_or(config.device), config.threads)?;
        let model = ckpt.model(path, &selected.device)?;
        Ok(Self { path: path.to_owned(), epoch: ckpt.header.position.epoch, config, device: selected, model })
    }

    /// The first `limit` test images (all of them with `None`) of `dir`, else of the data folder
    /// the model was trained on, quantised to its levels.
    pub fn test_split(&self, dir: Option<&Path>, limit: Option<usize>) -> Result<QuantisedSplit> {
        let dir = dir.map_or_else(|| data_dir(&self.config), Path::to_owned);
        let limits = DataLimits { test_limit: limit, ..DataLimits::default() };
        Ok(QuantisedSplit::new(&Mnist::load(&dir, &limits)?.test, self.config.model.levels))
    }
}
