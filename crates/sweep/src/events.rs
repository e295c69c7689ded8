//! What a worker process tells its scheduler, one JSON object per line on its stdout. The scheduler
//! turns these into progress bars or log lines; the store is written by the worker itself.

use serde::{Deserialize, Serialize};

/// One event of a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WorkerEvent {
    /// Training is set up.
    Started {
        /// Device it trains on.
        device: String,
        /// Epoch it starts at.
        first_epoch: usize,
        /// Steps per epoch.
        steps_per_epoch: usize,
    },
    /// Progress within an epoch (sent at most a few times per second).
    Step {
        /// Current epoch.
        epoch: usize,
        /// Steps done in it.
        step_in_epoch: usize,
        /// Steps per epoch.
        steps_per_epoch: usize,
        /// Recent training loss (nats/pixel).
        loss: f64,
        /// Training throughput.
        images_per_second: f64,
    },
    /// An epoch is recorded in the store.
    Epoch {
        /// The epoch.
        epoch: u32,
        /// Its test bits/dim.
        test_bits_per_dim: f64,
    },
}

impl WorkerEvent {
    /// Parses one line of worker output; other lines are not events.
    pub fn parse(line: &str) -> Option<Self> {
        serde_json::from_str(line).ok()
    }

    /// The line to print.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("events serialise")
    }
}
