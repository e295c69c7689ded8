//! Locating the four standard MNIST files in a folder and verifying them against the SHA-256 sums
//! committed in this repository (`crates/data/mnist.sha256`, the sums of the raw, uncompressed files).

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};
use crate::idx;

/// Standard name of the training images.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
/// Standard name of the training labels.
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
/// Standard name of the test images.
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
/// Standard name of the test labels.
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

const CHECKSUMS: &str = include_str!("../mnist.sha256");

/// Paths of the four files of an MNIST-style data folder (each either raw or `.gz`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnistFiles {
    /// Training images.
    pub train_images: PathBuf,
    /// Training labels.
    pub train_labels: PathBuf,
    /// Test images.
    pub test_images: PathBuf,
    /// Test labels.
    pub test_labels: PathBuf,
}

impl MnistFiles {
    /// Finds the four standard files in `dir`, preferring the raw file over its `.gz`.
    pub fn locate(dir: &Path) -> Result<Self> {
        let find = |name: &'static str| {
            [dir.join(name), dir.join(format!("{name}.gz"))]
                .into_iter()
                .find(|p| p.is_file())
                .ok_or_else(|| DataError::MissingFile { dir: dir.to_owned(), name })
        };
        Ok(Self {
            train_images: find(TRAIN_IMAGES)?,
            train_labels: find(TRAIN_LABELS)?,
            test_images: find(TEST_IMAGES)?,
            test_labels: find(TEST_LABELS)?,
        })
    }

    /// Checks that the four files are readable, well-formed IDX files (magic number, dimensions
    /// and length, gzip stream and its CRC) whose image and label files agree on their counts,
    /// reading each file once as a stream and keeping only its checksum: a cheap check before any
    /// work, giving the errors [`crate::Mnist::load`] would give, each naming its file.
    pub fn check(&self) -> Result<CheckedFiles> {
        let train_images = idx::check_images(&self.train_images)?;
        let train_labels = idx::check_labels(&self.train_labels)?;
        let test_images = idx::check_images(&self.test_images)?;
        let test_labels = idx::check_labels(&self.test_labels)?;
        for (images, labels, image_path, label_path) in [
            (&train_images, &train_labels, &self.train_images, &self.train_labels),
            (&test_images, &test_labels, &self.test_images, &self.test_labels),
        ] {
            if images.count() != labels.count() {
                return Err(DataError::CountMismatch {
                    images: image_path.clone(),
                    image_count: images.count(),
                    labels: label_path.clone(),
                    label_count: labels.count(),
                });
            }
        }
        let sums = [&train_images, &train_labels, &test_images, &test_labels].map(|c| c.sha256.clone());
        let files = self
            .all()
            .into_iter()
            .zip(sums)
            .map(|((name, path), sha256)| FileChecksum { name, path: path.to_owned(), sha256 })
            .collect();
        Ok(CheckedFiles {
            files,
            train_count: train_images.count(),
            test_count: test_images.count(),
            rows: train_images.dims[1],
            cols: train_images.dims[2],
        })
    }

    /// The four paths with their standard names, in a fixed order.
    pub fn all(&self) -> [(&'static str, &Path); 4] {
        [
            (TRAIN_IMAGES, &self.train_images),
            (TRAIN_LABELS, &self.train_labels),
            (TEST_IMAGES, &self.test_images),
            (TEST_LABELS, &self.test_labels),
        ]
    }
}

/// The four files of a data folder as [`MnistFiles::check`] found them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFiles {
    /// Each file's checksum, in the order of [`MnistFiles::all`].
    pub files: Vec<FileChecksum>,
    /// Training images (before any limit or validation split).
    pub train_count: usize,
    /// Test images.
    pub test_count: usize,
    /// Height of the training images.
    pub rows: usize,
    /// Width of the training images.
    pub cols: usize,
}

impl CheckedFiles {
    /// `(standard name, SHA-256)` of each file: what [`crate::Mnist`] records and a run's identity
    /// is computed from.
    pub fn checksums(&self) -> Vec<(String, String)> {
        self.files.iter().map(|f| (f.name.to_owned(), f.sha256.clone())).collect()
    }
}

/// [`MnistFiles::locate`] then [`MnistFiles::check`]: whether `dir` holds usable MNIST data.
pub fn check_dir(dir: &Path) -> Result<CheckedFiles> {
    if !dir.is_dir() {
        return Err(DataError::MissingDir { dir: dir.to_owned() });
    }
    MnistFiles::locate(dir)?.check()
}

/// The committed SHA-256 of each standard file (of its raw, uncompressed bytes).
pub fn expected_checksums() -> Vec<(&'static str, &'static str)> {
    CHECKSUMS
        .lines()
        .filter_map(|line| line.split_once(char::is_whitespace))
        .map(|(hash, name)| (name.trim(), hash.trim()))
        .collect()
}

/// One file's checksum, as verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChecksum {
    /// Standard file name.
    pub name: &'static str,
    /// Path read.
    pub path: PathBuf,
    /// SHA-256 (hex) of the decoded content.
    pub sha256: String,
}

/// SHA-256 (hex) of a file's content, decoded from gzip when it is compressed, so that `.gz` copies
/// of the standard files verify against the same sums as the raw ones.
pub fn content_sha256(path: &Path) -> Result<String> {
    let io_err = |source| DataError::Io { path: path.to_owned(), source };
    let raw = std::fs::read(path).map_err(io_err)?;
    let mut hasher = Sha256::new();
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice()).read_to_end(&mut decoded).map_err(io_err)?;
        hasher.update(&decoded);
    } else {
        hasher.update(&raw);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Verifies the four files of `dir` against the committed sums; the first mismatch is an error that
/// names the file and both hashes.
pub fn verify(dir: &Path) -> Result<Vec<FileChecksum>> {
    let files = MnistFiles::locate(dir)?;
    let expected = expected_checksums();
    files
        .all()
        .into_iter()
        .map(|(name, path)| {
            let found = content_sha256(path)?;
            let want = expected
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, h)| *h)
                .expect("every standard file has a committed checksum");
            if found != want {
                return Err(DataError::ChecksumMismatch {
                    path: path.to_owned(),
                    expected: want.to_owned(),
                    found,
                });
            }
            Ok(FileChecksum { name, path: path.to_owned(), sha256: found })
        })
        .collect()
}

/// The default data folder: `$PIXELCNN_CACHE/mnist`, else `~/.cache/pixelcnn/mnist` (where
/// `just setup` puts the verified files).
pub fn default_dir() -> PathBuf {
    cache_dir().join("mnist")
}

/// The cache folder of pixelcnn-lab: `$PIXELCNN_CACHE`, else `~/.cache/pixelcnn`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PIXELCNN_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("pixelcnn")
}
