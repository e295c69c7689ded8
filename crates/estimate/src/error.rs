//! Errors at the estimate crate's border.

/// Why an estimate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum EstimateError {
    /// Reading the recorded runs failed.
    #[error(transparent)]
    Store(#[from] pixelcnn_store::StoreError),
    /// The timed probe could not train (its data or device is missing, say).
    #[error("probing the training speed: {0}")]
    Probe(#[from] pixelcnn_train::TrainError),
    /// The probe's temporary folder could not be made.
    #[error("probing the training speed: {0}")]
    Io(#[from] std::io::Error),
}

/// Results of this crate.
pub type Result<T, E = EstimateError> = std::result::Result<T, E>;
