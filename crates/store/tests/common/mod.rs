//! Helpers shared by the store's integration tests: a database in a temporary folder and small
//! builders for the plain data the store takes.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use pixelcnn_record::{ArtefactKind, EpochMetrics};
use pixelcnn_store::scratch::ScratchPostgres;
use pixelcnn_store::{
    ArtefactContent, ClaimKind, Clock, Enqueued, Lease, NewArtefact, NewRun, SkipReason, Store, StoreOptions,
    Worker, url_from_path,
};
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

    /// Opens it on `clock`, which the test moves forward instead of sleeping.
    pub async fn open_at(&self, clock: &Clock) -> Store {
        let options = StoreOptions { clock: clock.clone(), ..StoreOptions::default() };
        Store::open_with(&self.url(), options).await.expect("open the store")
    }
}

/// Long enough that a fresh heartbeat is never stale, short against [`LATER`].
pub const STALE_AFTER: Duration = Duration::from_secs(60);
/// How far a test moves its clock for the heartbeats recorded so far to be stale.
pub const LATER: Duration = Duration::from_secs(120);

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

/// A sweep's request to train one configuration with one worker.
#[derive(Clone, Debug)]
pub struct ClaimRequest {
    /// The attempt to queue if a new one is needed.
    pub run: NewRun,
    /// The worker that claims it.
    pub worker: Worker,
    /// Queue a new attempt when the latest one failed.
    pub retry_failed: bool,
    /// Take a `running` attempt whose heartbeat is older than this over (`None`: never).
    pub stale_after: Option<Duration>,
}

/// What [`claim_config`] gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The worker holds the attempt.
    Claimed { run_id: String, lease: Lease, from_epoch: u32, kind: ClaimKind },
    /// Nothing for it to train.
    Skipped { run_id: String, reason: SkipReason },
}

/// What a sweep does for one configuration and one worker: queue it if it needs training
/// ([`Store::enqueue_config`]), then claim it ([`Store::claim_next`]). A configuration queued but
/// claimed by someone else in between is running elsewhere.
pub async fn claim_config(store: &Store, request: &ClaimRequest) -> pixelcnn_store::Result<Claim> {
    let queued = match store.enqueue_config(&request.run, request.retry_failed, request.stale_after).await? {
        Enqueued::Skipped { run_id, reason } => return Ok(Claim::Skipped { run_id, reason }),
        Enqueued::New { run_id } | Enqueued::Requeued { run_id, .. } | Enqueued::AlreadyQueued { run_id } => {
            run_id
        }
    };
    // Without a stale limit nothing running is taken over: a limit no heartbeat can be older than.
    let stale = request.stale_after.unwrap_or(Duration::from_secs(100 * 365 * 24 * 3600));
    let configs = [request.run.config_hash.clone()];
    Ok(match store.claim_next(&configs, &request.worker, stale).await? {
        Some(t) => Claim::Claimed {
            run_id: t.lease.run_id.clone(),
            lease: t.lease,
            from_epoch: t.from_epoch,
            kind: t.kind,
        },
        None => Claim::Skipped { run_id: queued, reason: SkipReason::RunningElsewhere },
    })
}

/// A rerun (`run.rerun_of` set) queued and claimed by `worker`, as `pixelcnn rerun` does: its lease.
pub async fn start_rerun(store: &Store, run: &NewRun, worker: &Worker) -> pixelcnn_store::Result<Lease> {
    let id = store.create_run(run).await?;
    Ok(store.claim(&id, worker).await?.expect("a queued rerun is claimable"))
}
