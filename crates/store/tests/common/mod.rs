//! Helpers shared by the store's integration tests: a database in a temporary folder and small
//! builders for the plain data the store takes.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;

use pixelcnn_record::{ArtefactKind, EpochMetrics};
use pixelcnn_store::scratch::ScratchPostgres;
use pixelcnn_store::{ArtefactContent, Lease, NewArtefact, NewRun, Store, Worker, url_from_path};
use serde_json::json;

/// A temporary folder holding one database file (not created yet).
pub struct TempDb {
    /// Kept alive so the folder outlives the test.
    pub dir: tempfile::TempDir,
    /// The database file.
    pub path: PathBuf,
}

impl TempDb {
    /// A database path inside a new temporary folder.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("results").join("pixelcnn.db");
        Self { dir, path }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        url_from_path(&self.path)
    }

    /// Opens it (creating and migrating on first use).
    pub async fn open(&self) -> Store {
        Store::open(&self.url()).await.expect("open the store")
    }
}

/// A database for one test on either engine: an SQLite file in a temporary folder, or a scratch
/// PostgreSQL database (dropped with the handle).
pub enum TestDb {
    /// SQLite.
    Sqlite(TempDb),
    /// PostgreSQL.
    Postgres(ScratchPostgres),
}

impl TestDb {
    /// Its URL.
    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite(db) => db.url(),
            TestDb::Postgres(db) => db.url().to_owned(),
        }
    }

    /// Opens it (creating and migrating on first use).
    pub async fn open(&self) -> Store {
        Store::open(&self.url()).await.expect("open the store")
    }
}

/// Runs each listed `async fn NAME(db: TestDb)` twice, as `NAME::sqlite` and `NAME::postgres`,
/// each on a database of its own: every store behaviour is checked on both engines.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name($crate::common::TestDb::Sqlite($crate::common::TempDb::new())).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(db) = pixelcnn_store::scratch::ScratchPostgres::for_test().await {
                    super::$name($crate::common::TestDb::Postgres(db)).await
                }
            }
        }
    )*};
}

/// A new run of configuration `hash` with `levels` quantisation levels.
pub fn new_run(experiment_id: &str, hash: &str, levels: u32, epochs: u32) -> NewRun {
    NewRun {
        experiment_id: experiment_id.to_owned(),
        sweep_id: None,
        config_hash: hash.to_owned(),
        config: json!({"model": {"levels": levels, "blocks": 2}, "train": {"epochs": epochs, "lr": 0.001}, "seed": 42}),
        config_toml: format!("[model]\nlevels = {levels}\n"),
        varying: json!({"model.levels": levels}),
        epochs_target: epochs,
        git_commit: Some("abc123".into()),
        git_dirty: Some(false),
        versions: json!({"burn": "0.22.1", "rustc": "1.95.0"}),
        tags: vec!["test".into()],
        note: Some("a note".into()),
        rerun_of: None,
    }
}

/// A worker on this machine.
pub fn worker(pid: u32) -> Worker {
    Worker { pid, host: "testhost".into(), device: Some("cpu".into()), threads: Some(2) }
}

/// Creates a queued run of configuration `hash` and claims it for `worker(pid)`: its lease, so
/// that epochs can be recorded (a queued run has no lease).
pub async fn claimed_run(store: &Store, experiment_id: &str, hash: &str, epochs: u32, pid: u32) -> Lease {
    let run_id = store.create_run(&new_run(experiment_id, hash, 2, epochs)).await.expect("create the run");
    let lease =
        store.claim(&run_id, &worker(pid)).await.expect("claim the run").expect("a queued run is claimable");
    assert_eq!(lease.run_id, run_id);
    lease
}

/// Metrics of epoch `epoch`, decreasing with it.
pub fn epoch_row(epoch: u32) -> EpochMetrics {
    let nll = 1.0 / f64::from(epoch + 1);
    EpochMetrics {
        epoch,
        step: u64::from(epoch) * 100,
        train_nll: nll + 0.01,
        validation_nll: None,
        test_nll: nll,
        test_bits_per_dim: nll / std::f64::consts::LN_2,
        test_nats_per_image: nll * 784.0,
        // No powi: its constant-folded and run-time results may differ in the last bit.
        lr: 0.001 / f64::from(epoch + 1),
        seconds: 1.5,
        images_per_second: 4000.0,
    }
}

/// A small PNG-like picture and a checkpoint file for an epoch.
pub fn epoch_artefacts(epoch: u32) -> Vec<NewArtefact> {
    vec![
        NewArtefact {
            kind: ArtefactKind::Samples,
            name: "samples.png".into(),
            media_type: "image/png".into(),
            content: ArtefactContent::Blob(vec![0x89, b'P', b'N', b'G', epoch as u8]),
        },
        NewArtefact {
            kind: ArtefactKind::Checkpoint,
            name: format!("epoch-{epoch:04}.ckpt"),
            media_type: "application/octet-stream".into(),
            content: ArtefactContent::File {
                path: format!("runs/x/checkpoints/epoch-{epoch:04}.ckpt"),
                sha256: format!("{epoch:064x}"),
                size_bytes: Some(1024),
            },
        },
    ]
}
