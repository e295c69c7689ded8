//! What a worker process tells its launcher, one JSON object per line on its stdout. The launcher
//! turns these into progress bars or log lines, and learns from them which run a worker holds (to
//! settle it should the worker die); the store is written by the worker itself.

use serde::{Deserialize, Serialize};

/// One event of a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WorkerEvent {
    /// A run is claimed; the events up to its `Ended` are its.
    Claimed {
        /// The run.
        run_id: String,
        /// The claim's lease token: a launcher settles the run under it if the worker dies.
        lease: String,
        /// Last completed epoch it resumes from (0: fresh).
        from_epoch: u32,
    },
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
    /// The run is over for this worker.
    Ended {
        /// The run.
        run_id: String,
        /// The status it recorded (`finished`, `failed`, `interrupted`, `pruned`, `paused`); none
        /// when it recorded none (its lease was lost, or the store failed).
        status: Option<String>,
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

/// Prints an event on stdout for the launcher.
pub(crate) fn emit(event: &WorkerEvent) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // A launcher that went away is noticed through stdin; nothing to do about stdout here.
    let _ = writeln!(out, "{}", event.to_line());
    let _ = out.flush();
}
