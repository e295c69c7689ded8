//! One PixelCNN run: device selection, the seed's training loop, exact evaluation, sampling and
//! checkpoints. The sweep runner and the single-run CLI both drive runs through [`Trainer`]; what
//! happens is reported to a [`RunObserver`], never printed or stored from here.

pub mod allocator;
pub mod checkpoint;
pub mod device;
mod error;
mod evaluate;
mod images;
mod inference;
pub mod observer;
pub mod optim;
pub mod preflight;
mod rng;
pub mod sampling;
mod trainer;

pub use error::{Result, TrainError};
pub use evaluate::mean_nll;
pub use images::grid_png;
pub use inference::Trained;
pub use observer::{Artefact, Both, RunObserver, RunStart, Silent, StepProgress};
pub use rng::{Stream, stream};
pub use trainer::{Trainer, model_params};
