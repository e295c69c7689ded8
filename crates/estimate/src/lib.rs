//! What a plan will cost before anything runs, for `pixelcnn plan`: the epochs a search trains
//! against its full grid ([`budget`]), and how long a run takes on this machine ([`throughput`]),
//! from finished runs in the store, a timed probe, or the constants `just bench` measured.
//! Nothing here schedules or records: estimates only read.

pub mod budget;
mod error;
pub mod throughput;

pub use error::{EstimateError, Result};
