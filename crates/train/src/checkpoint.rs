//! Epoch checkpoints: one file holding the run's configuration, its position (epoch, step, learning
//! rate, best epoch so far), the model and the optimizer state. A run stopped in the middle of an
//! epoch (Ctrl-C, SIGTERM, Slurm's warning before a time limit) also leaves a step checkpoint,
//! [`STEP_CHECKPOINT`], from which it resumes at the next step instead of redoing the epoch.
//!
//! Layout: the magic `PIXELCNN-CKPT-v1`, then three length-prefixed sections (JSON header, model
//! burnpack, optimizer burnpack), then the SHA-256 of everything before it, so that a truncated or
//! corrupted file is reported as such instead of loading garbage. Files are written to a temporary
//! name and renamed, so a crash never leaves a half-written checkpoint under the real name.

use std::path::{Path, PathBuf};

use burn::store::{ModuleRecord, RecordError};
use burn::tensor::{Bytes, Device};
use pixelcnn_config::RunConfig;
use pixelcnn_model::Model;
use pixelcnn_record::{EpochMetrics, Retention};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Result, TrainError};

const MAGIC: &[u8; 16] = b"PIXELCNN-CKPT-v1";

/// Where a run stands at the end of an epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPosition {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimisation steps completed.
    pub step: u64,
    /// Learning rate after the last step (the next step uses `lr * decay`).
    pub lr: f64,
    /// Best epoch so far by validation NLL (test NLL without a validation split).
    pub best: Option<EpochMetrics>,
    /// Metrics of every completed epoch, so a resumed run reports the full history.
    pub history: Vec<EpochMetrics>,
    /// Steps already trained of the next epoch: set only in a step checkpoint (absent in epoch
    /// checkpoints, which stay as they were written before step checkpoints existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_epoch: Option<EpochProgress>,
}

/// How far a stopped run got into epoch `RunPosition::epoch + 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochProgress {
    /// Steps of the epoch already trained (the epoch's shuffled order is a function of the seed
    /// and the epoch, so the next step is known).
    pub steps: usize,
    /// Sum over those steps of the batch loss times the batch size, as the device accumulated it
    /// (an `f32` value, exact in `f64`): the epoch's training NLL continues from it bit for bit.
    pub loss_sum: f64,
}

/// File name of the step checkpoint of a run stopped within an epoch. There is at most one: it is
/// replaced by the next stop and deleted once the epoch it belongs to has its own checkpoint.
pub const STEP_CHECKPOINT: &str = "step.ckpt";

/// A checkpoint's JSON header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointHeader {
    /// The resolved configuration that trained this model.
    pub config: RunConfig,
    /// Position of the run.
    pub position: RunPosition,
}

/// A checkpoint read back into memory.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Configuration and position.
    pub header: CheckpointHeader,
    /// Model parameters (burnpack bytes of the family's module, [`Model::into_family_record`]).
    pub model: Vec<u8>,
    /// Optimizer state (burnpack bytes).
    pub optimizer: Vec<u8>,
}

impl Checkpoint {
    /// Writes atomically: a temporary file in the same folder, then a rename.
    pub fn write(&self, path: &Path) -> Result<()> {
        let io = |source| TrainError::Io { path: path.to_owned(), source };
        let header = serde_json::to_vec(&self.header).expect("checkpoint header serialises");
        let mut bytes = MAGIC.to_vec();
        for section in [&header, &self.model, &self.optimizer] {
            bytes.extend_from_slice(&(section.len() as u64).to_le_bytes());
            bytes.extend_from_slice(section);
        }
        let digest = Sha256::digest(&bytes);
        bytes.extend_from_slice(&digest);
        let tmp = temporary_name(path);
        std::fs::write(&tmp, &bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads and verifies a checkpoint.
    pub fn read(path: &Path) -> Result<Self> {
        let bad = |message: &str| TrainError::Checkpoint { path: path.to_owned(), message: message.into() };
        let bytes = std::fs::read(path).map_err(|source| TrainError::Io { path: path.to_owned(), source })?;
        if !bytes.starts_with(MAGIC) {
            return Err(bad("not a pixelcnn-lab checkpoint (wrong magic bytes)"));
        }
        if bytes.len() < MAGIC.len() + 32 {
            return Err(bad("truncated"));
        }
        let (body, digest) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body).as_slice() != digest {
            return Err(bad("corrupt or truncated (SHA-256 of the content does not match)"));
        }
        let mut rest = &body[MAGIC.len()..];
        let mut sections = Vec::new();
        for _ in 0..3 {
            let (len, tail) = rest.split_at_checked(8).ok_or_else(|| bad("truncated section"))?;
            let len = u64::from_le_bytes(len.try_into().expect("8 bytes")) as usize;
            let (section, tail) = tail.split_at_checked(len).ok_or_else(|| bad("truncated section"))?;
            sections.push(section.to_vec());
            rest = tail;
        }
        let header =
            serde_json::from_slice(&sections[0]).map_err(|e| bad(&format!("unreadable header: {e}")))?;
        let optimizer = sections.pop().expect("three sections");
        let model = sections.pop().expect("three sections");
        Ok(Self { header, model, optimizer })
    }
}

impl Checkpoint {
    /// The trained model on `device` (an inference model unless `device` is an autodiff device),
    /// of the family the header's configuration names (the PixelCNN when it names none, as in
    /// checkpoints written before families existed).
    pub fn model(&self, path: &Path, device: &Device) -> Result<Model> {
        let bad =
            |e: RecordError| TrainError::Checkpoint { path: path.to_owned(), message: format!("model: {e}") };
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(self.model.clone())).map_err(bad)?;
        let model = pixelcnn_model::ModelConfig::from(&self.header.config.model).init(device);
        model.try_load_family_record(record).map_err(bad)
    }
}

fn temporary_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

/// File name of the checkpoint after `epoch`.
pub fn file_name(epoch: u32) -> String {
    format!("epoch-{epoch:04}.ckpt")
}

/// The checkpoint in `dir` a run with `completed` epochs recorded resumes from: the step
/// checkpoint when it continues epoch `completed + 1`, else the checkpoint of epoch `completed`;
/// `None` for a run to start afresh (nothing completed and no step checkpoint). A step checkpoint
/// that cannot be read is skipped with a warning: the epoch checkpoint gives the same numbers,
/// only later.
pub fn resume_point(dir: &Path, completed: u32) -> Option<PathBuf> {
    let step = dir.join(STEP_CHECKPOINT);
    if step.is_file() {
        match Checkpoint::read(&step) {
            Ok(c)
                if c.header.position.epoch == completed as usize
                    && c.header.position.within_epoch.is_some() =>
            {
                return Some(step);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("ignoring the step checkpoint: {e}"),
        }
    }
    (completed > 0).then(|| dir.join(file_name(completed)))
}

/// The checkpoints in `dir`, by epoch.
pub fn list(dir: &Path) -> Vec<(u32, PathBuf)> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let epoch = name.strip_prefix("epoch-")?.strip_suffix(".ckpt")?.parse().ok()?;
            Some((epoch, entry.path()))
        })
        .collect();
    found.sort();
    found
}

/// Deletes the checkpoints of `dir` that `retention` does not keep, given the run's best epoch.
/// Returns the deleted paths.
pub fn prune(dir: &Path, retention: &Retention, best: Option<u32>) -> Result<Vec<PathBuf>> {
    let all = list(dir);
    let kept = retention.kept(&all.iter().map(|(epoch, _)| *epoch).collect(), best);
    let mut removed = Vec::new();
    for (epoch, path) in all {
        if kept.contains(&epoch) {
            continue;
        }
        std::fs::remove_file(&path).map_err(|source| TrainError::Io { path: path.clone(), source })?;
        removed.push(path);
    }
    Ok(removed)
}
