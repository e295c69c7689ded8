//! Helpers shared by the report's tests: epochs and claimed runs written straight into a store.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use pixelcnn_record::EpochMetrics;
use pixelcnn_store::{Lease, NewRun, Store, Worker};
use serde_json::Value;

/// Epoch `epoch` with test NLL `test_nll` (training NLL 0.05 above it, 2 s per epoch number).
pub fn epoch(epoch: u32, test_nll: f64) -> EpochMetrics {
    EpochMetrics {
        epoch,
        step: u64::from(epoch) * 10,
        train_nll: test_nll + 0.05,
        validation_nll: None,
        test_nll,
        test_bits_per_dim: test_nll / std::f64::consts::LN_2,
        test_nats_per_image: test_nll * 784.0,
        lr: 1e-3,
        seconds: 2.0 * f64::from(epoch),
        images_per_second: 50.0,
    }
}

/// A run of experiment `experiment_id` to record: configuration `config` (hash `config_hash`),
/// swept values `varying`, `epochs` epochs.
pub fn new_run(experiment_id: &str, config_hash: &str, config: Value, varying: Value, epochs: u32) -> NewRun {
    NewRun {
        experiment_id: experiment_id.into(),
        sweep_id: None,
        config_hash: config_hash.into(),
        config_toml: format!("seed = {}\n", config["seed"]),
        config,
        varying,
        epochs_target: epochs,
        git_commit: None,
        git_dirty: None,
        versions: serde_json::json!({}),
        tags: vec![],
        note: None,
        rerun_of: None,
    }
}

/// Claims `run` for a test worker: its lease.
pub async fn claim(store: &Store, run: NewRun) -> Lease {
    let worker = Worker { pid: 1, host: "testhost".into(), device: Some("cpu".into()), threads: Some(1) };
    let id = store.create_run(&run).await.unwrap();
    store.claim(&id, &worker).await.unwrap().expect("a queued run is claimable")
}
