//! Errors of a run. Each says what to do about it; none of them panics.

use std::path::PathBuf;

/// Why a run could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// CUDA was asked for where there is none (or not that many devices).
    #[error(
        "device = \"cuda:{requested}\": CUDA device {requested} requested but {found} CUDA device(s) are usable on this machine, which accepts device = {accepted}; use device = \"cpu\" or \"auto\"",
        accepted = crate::device::accepted_devices(Some(*found)).join(", ")
    )]
    NoCuda {
        /// Index asked for.
        requested: usize,
        /// Devices libtorch sees.
        found: usize,
    },
    /// The build lacks the backend the device needs.
    #[error(
        "device = \"{0}\" needs a backend this build lacks (this build accepts device = {accepted}; flex-only builds have only `flex`; rebuild with default features for libtorch)",
        accepted = crate::device::accepted_devices(None).join(", ")
    )]
    BackendMissing(String),
    /// Flex's thread pool was already sized differently in this process.
    #[error("flex threads already fixed at {fixed} in this process; cannot use {requested}")]
    ThreadsFixed {
        /// Threads asked for.
        requested: usize,
        /// Threads in force.
        fixed: usize,
    },
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] pixelcnn_config::ConfigError),
    /// The data could not be read.
    #[error(transparent)]
    Data(#[from] pixelcnn_data::DataError),
    /// A checkpoint could not be read or is not a pixelcnn-lab checkpoint.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// File concerned.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The loss became NaN or infinite. The message says what usually helps, with the values in
    /// force, since a user's next move is to change one of them.
    #[error(
        "training diverged at epoch {epoch}, step {step}: the training loss is {loss}; a lower \
         learning rate usually helps (train.lr, now {lr:?}), or tighter gradient clipping \
         (train.clip_norm, now {clip_norm:?})"
    )]
    Diverged {
        /// Epoch (1-based).
        epoch: usize,
        /// Global step at which the non-finite loss was seen (the loss is read every few steps).
        step: u64,
        /// The non-finite value.
        loss: f64,
        /// The configured learning rate (`train.lr`).
        lr: f64,
        /// The configured global-norm clipping (`train.clip_norm`).
        clip_norm: f64,
    },
    /// A class was asked of a model that cannot draw it.
    #[error("label {label}: {reason}")]
    BadLabel {
        /// The class asked for.
        label: u8,
        /// Why it cannot be drawn.
        reason: String,
    },
    /// The observer asked to stop (for example on Ctrl-C or a store error).
    #[error("stopped: {0}")]
    Stopped(String),
}

/// Result alias of the train crate.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
