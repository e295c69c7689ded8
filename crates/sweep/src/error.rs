//! Errors of a sweep or a worker.

/// Why a sweep or worker could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The store failed (locked, missing, corrupt...).
    #[error(transparent)]
    Store(#[from] pixelcnn_store::StoreError),
    /// The data could not be read.
    #[error(transparent)]
    Data(#[from] pixelcnn_data::DataError),
    /// Training could not start or stopped.
    #[error(transparent)]
    Train(#[from] pixelcnn_train::TrainError),
    /// A stored configuration could not be read back.
    #[error("run {run}: stored configuration unreadable: {message}")]
    StoredConfig {
        /// Run id.
        run: String,
        /// Why.
        message: String,
    },
    /// `rerun` will not run (changed environment, nothing to compare, a device it cannot use).
    #[error("rerun of {run} refused: {message}")]
    RerunRefused {
        /// The run asked for.
        run: String,
        /// Why.
        message: String,
    },
    /// The worker's lease on its run is gone: the run ended, or another worker took it over after
    /// this one's heartbeat went stale (the process was frozen, say). Nothing more was written.
    #[error(
        "run {run}: lease lost: another worker took the run over (or it was ended) after this worker's \
         heartbeat went stale; stopped without writing anything more"
    )]
    LeaseLost {
        /// Run id.
        run: String,
    },
    /// A worker process could not be started or watched.
    #[error("worker process: {0}")]
    Process(#[from] std::io::Error),
}

/// Result alias of the sweep crate.
pub type Result<T, E = SweepError> = std::result::Result<T, E>;
