//! MNIST in memory: the training, optional validation and test splits, with the checksums of what
//! was read so that a run can record exactly which data produced its numbers.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::idx::{self, IdxImages};
use crate::mnist::{self, MnistFiles};

/// How much of the data a run uses. The defaults are the seed's: every image, no validation split.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataLimits {
    /// Use only the first N training images (after the validation images are held out).
    pub train_limit: Option<usize>,
    /// Use only the first N test images.
    pub test_limit: Option<usize>,
    /// Hold out the last N training images as a validation split.
    pub validation_size: usize,
}

/// Images with their labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The images, as raw bytes.
    pub images: IdxImages,
    /// One label (0..=9) per image.
    pub labels: Vec<u8>,
}

impl Split {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.count
    }

    /// Whether the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.images.count == 0
    }

    /// Reads an image file and its label file, checking that they hold as many items.
    pub fn read(images_path: &Path, labels_path: &Path) -> Result<Self> {
        let images = idx::read_images(images_path)?;
        let labels = idx::read_labels(labels_path)?;
        if images.count != labels.len() {
            return Err(DataError::CountMismatch {
                images: images_path.to_owned(),
                image_count: images.count,
                labels: labels_path.to_owned(),
                label_count: labels.len(),
            });
        }
        Ok(Self { images, labels })
    }

    fn truncate(&mut self, n: usize) {
        self.images.truncate(n);
        self.labels.truncate(self.images.count);
    }

    /// Splits off the last `n` items into a new split.
    fn split_off_last(&mut self, n: usize) -> Self {
        let keep = self.len() - n;
        let size = self.images.rows * self.images.cols;
        let tail = IdxImages {
            count: n,
            rows: self.images.rows,
            cols: self.images.cols,
            pixels: self.images.pixels.split_off(keep * size),
        };
        self.images.count = keep;
        Self { images: tail, labels: self.labels.split_off(keep) }
    }
}

/// The whole data set of a run.
#[derive(Debug, Clone)]
pub struct Mnist {
    /// Training split (validation images removed, limit applied).
    pub train: Split,
    /// Held-out validation split: the last `validation_size` training images.
    pub validation: Option<Split>,
    /// Test split (limit applied).
    pub test: Split,
    /// SHA-256 of the decoded content of each file read, by standard name.
    pub checksums: Vec<(String, String)>,
}

impl Mnist {
    /// Loads the four standard files from `dir` (raw or `.gz`) and applies the limits.
    pub fn load(dir: &Path, limits: &DataLimits) -> Result<Self> {
        let files = MnistFiles::locate(dir)?;
        let checksums = files
            .all()
            .into_iter()
            .map(|(name, path)| Ok((name.to_owned(), mnist::content_sha256(path)?)))
            .collect::<Result<Vec<_>>>()?;
        let mut train = Split::read(&files.train_images, &files.train_labels)?;
        let mut test = Split::read(&files.test_images, &files.test_labels)?;
        if limits.validation_size >= train.len() {
            return Err(DataError::ValidationTooLarge {
                validation: limits.validation_size,
                train: train.len(),
            });
        }
        let validation = (limits.validation_size > 0).then(|| train.split_off_last(limits.validation_size));
        if let Some(n) = limits.train_limit {
            train.truncate(n);
        }
        if let Some(n) = limits.test_limit {
            test.truncate(n);
        }
        Ok(Self { train, validation, test, checksums })
    }
}
