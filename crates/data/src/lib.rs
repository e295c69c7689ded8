//! MNIST for pixelcnn-lab.
//!
//! Reads the standard IDX files (raw or gzip) from any folder, verifies them against the checksums
//! committed in the repository, quantises them exactly as the seed notebook does and hands out
//! seeded, reproducible batches as burn tensors on any device.

mod batch;
mod dataset;
mod error;
pub mod idx;
pub mod mnist;

pub use batch::{Batch, QuantisedSplit};
pub use dataset::{DataLimits, Mnist, Split};
pub use error::{DataError, Result};
pub use pixelcnn_config::Levels;
