//! Typed errors of the data crate: each names the file it is about, so a user can fix the right one.

use std::path::PathBuf;

/// Everything that can go wrong while locating, verifying or reading MNIST-style IDX data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read (missing, permissions, not gzip after a gzip header...).
    #[error("cannot read {path}: {source}")]
    Io {
        /// File that failed.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// File that failed.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The header or body is shorter than the header's dimensions promise.
    #[error("{path}: truncated IDX file: the header promises {expected} bytes, the file holds {found}")]
    Truncated {
        /// File that failed.
        path: PathBuf,
        /// Bytes the header announces (header included).
        expected: u64,
        /// Bytes actually present (after gzip decoding).
        found: u64,
    },
    /// More bytes follow the data than the header announces: the file is not what it claims to be.
    #[error("{path}: IDX file has {extra} bytes after the data its header announces")]
    TrailingData {
        /// File that failed.
        path: PathBuf,
        /// Bytes beyond the announced end.
        extra: u64,
    },
    /// The magic number does not say "unsigned bytes" with the expected number of dimensions.
    #[error("{path}: wrong IDX magic number {found:#010x}, expected {expected:#010x} ({what})")]
    WrongMagic {
        /// File that failed.
        path: PathBuf,
        /// Magic number read.
        found: u32,
        /// Magic number required.
        expected: u32,
        /// What the file should hold ("images" or "labels").
        what: &'static str,
    },
    /// An image file and its label file disagree on how many items they hold.
    #[error("{images} holds {image_count} images but {labels} holds {label_count} labels")]
    CountMismatch {
        /// Image file.
        images: PathBuf,
        /// Images in it.
        image_count: usize,
        /// Label file.
        labels: PathBuf,
        /// Labels in it.
        label_count: usize,
    },
    /// A file's SHA-256 differs from the committed checksum.
    #[error("{path}: SHA-256 mismatch: expected {expected}, found {found}")]
    ChecksumMismatch {
        /// File that failed.
        path: PathBuf,
        /// Hash committed in the repository.
        expected: String,
        /// Hash of the file on disk.
        found: String,
    },
    /// One of the four standard files is absent from the data folder.
    #[error(
        "{dir}: no {name} (raw or .gz) in this folder; run `just setup` or use a data folder holding the four MNIST IDX files"
    )]
    MissingFile {
        /// Folder searched.
        dir: PathBuf,
        /// Standard file name looked for.
        name: &'static str,
    },
    /// The data folder itself does not exist (or is not a folder).
    #[error(
        "data folder {dir} does not exist (data.dir); run `just setup` or use a data folder holding the four MNIST IDX files"
    )]
    MissingDir {
        /// Folder asked for.
        dir: PathBuf,
    },
    /// A held-out validation split that leaves no training data.
    #[error("validation_size {validation} leaves no training images out of {train}")]
    ValidationTooLarge {
        /// Requested validation images.
        validation: usize,
        /// Training images available.
        train: usize,
    },
}

impl DataError {
    /// Whether the folder itself is the wrong one (missing, or without one of the four files):
    /// the command line then says how that command names another folder (`--data` or
    /// `--set data.dir=...`), which this crate cannot know.
    pub fn is_wrong_folder(&self) -> bool {
        matches!(self, DataError::MissingDir { .. } | DataError::MissingFile { .. })
    }
}

/// Result alias of the data crate.
pub type Result<T, E = DataError> = std::result::Result<T, E>;
