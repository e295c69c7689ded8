//! Many writers on one SQLite file, as parallel workers and concurrent sweeps produce them:
//! exactly one winner per claim, no "database is locked" error, every row present, and an intact
//! file afterwards.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    Claim, ClaimRequest, TestDb, claim_config, claimed_run, epoch_artefacts, epoch_row, new_run, worker,
};
use pixelcnn_record::RunStatus;
use pixelcnn_store::{Lease, RunFilter, SkipReason, Store};

async fn concurrent_claimers_of_one_configuration_have_one_winner(db: TestDb) {
    // A fresh database: the eight stores also race to create and migrate it.
    let url = db.url();
    let tasks: Vec<_> = (0..8u32)
        .map(|i| {
            let url = url.clone();
            tokio::spawn(async move {
                let store = Store::open(&url).await.unwrap();
                let exp = store.record_experiment("levels", "").await.unwrap();
                let request = ClaimRequest {
                    run: new_run(&exp, "same-config", 2, 3),
                    worker: worker(100 + i),
                    retry_failed: false,
                    stale_after: Some(Duration::from_secs(60)),
                };
                claim_config(&store, &request).await.unwrap()
            })
        })
        .collect();
    let mut claims = Vec::new();
    for task in tasks {
        claims.push(task.await.unwrap());
    }
    let winners: Vec<_> = claims.iter().filter(|c| matches!(c, Claim::Claimed { .. })).collect();
    assert_eq!(winners.len(), 1, "{claims:?}");
    let Claim::Claimed { run_id, lease, .. } = winners[0] else { unreachable!() };
    for claim in &claims {
        if let Claim::Skipped { run_id: other, reason } = claim {
            assert_eq!((other, *reason), (run_id, SkipReason::RunningElsewhere));
        }
    }
    let store = db.open().await;
    assert_eq!(store.list_runs(&RunFilter::default()).await.unwrap().len(), 1);
    assert_eq!(store.experiments().await.unwrap().len(), 1);
    assert_eq!(&lease.run_id, run_id);
    assert!(store.heartbeat(lease).await.unwrap(), "the winner's lease is current");
    store.integrity_check().await.unwrap();
}

async fn concurrent_claimers_of_one_queued_run_have_one_winner(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let run_id = store.create_run(&new_run(&exp, "h", 2, 3)).await.unwrap();
    let tasks: Vec<_> = (0..8u32)
        .map(|i| {
            let (url, run_id) = (db.url(), run_id.clone());
            tokio::spawn(async move {
                Store::open(&url).await.unwrap().claim(&run_id, &worker(200 + i)).await.unwrap()
            })
        })
        .collect();
    let mut won = Vec::new();
    for task in tasks {
        won.extend(task.await.unwrap());
    }
    assert_eq!(won.len(), 1, "{won:?}");
    assert_eq!(won[0].run_id, run_id);
    assert_eq!(store.run(&run_id).await.unwrap().status, RunStatus::Running);
    assert!(store.heartbeat(&won[0]).await.unwrap(), "the winner's lease is current");
}

async fn two_sweeps_at_once_train_every_configuration_once(db: TestDb) {
    db.open().await.close().await;
    let configs: Vec<String> = (0..12).map(|i| format!("config-{i:02}")).collect();
    let sweep = |pid: u32, order: Vec<String>| {
        let url = db.url();
        tokio::spawn(async move {
            let store = Store::open(&url).await.unwrap();
            let exp = store.record_experiment("levels", "").await.unwrap();
            let mut trained = Vec::new();
            for hash in order {
                let request = ClaimRequest {
                    run: new_run(&exp, &hash, 2, 2),
                    worker: worker(pid),
                    retry_failed: false,
                    stale_after: Some(Duration::from_secs(60)),
                };
                if let Claim::Claimed { lease, from_epoch, .. } =
                    claim_config(&store, &request).await.unwrap()
                {
                    for epoch in from_epoch + 1..=2 {
                        store.record_epoch(&lease, &epoch_row(epoch), &epoch_artefacts(epoch)).await.unwrap();
                    }
                    store.finish_run(&lease, RunStatus::Finished, None).await.unwrap();
                    trained.push(hash);
                }
            }
            trained
        })
    };
    let forward = sweep(1, configs.clone());
    let backward = sweep(2, configs.iter().rev().cloned().collect());
    let mut trained = forward.await.unwrap();
    trained.extend(backward.await.unwrap());
    trained.sort();
    assert_eq!(trained, configs, "each configuration trained by exactly one sweep");

    // Running the sweep again trains nothing.
    let again = sweep(3, configs.clone()).await.unwrap();
    assert!(again.is_empty(), "{again:?}");
    let store = db.open().await;
    let runs = store.list_runs(&RunFilter::default()).await.unwrap();
    assert_eq!(runs.len(), configs.len());
    assert!(runs.iter().all(|r| r.status == RunStatus::Finished && r.last_epoch == Some(2)));
    store.integrity_check().await.unwrap();
}

/// Tells the child process which database and run to write, and its lease:
/// `URL\nRUN_ID\nTOKEN\nGO_FILE`.
const WRITER_ENV: &str = "PIXELCNN_STORE_TEST_WRITER";
/// Epochs each writer records.
const EPOCHS: u32 = 50;

/// The body of one writer process: waits for the go signal, then records 50 epochs (each with a
/// picture and a checkpoint row) and finishes its run. A no-op in the normal test run.
#[tokio::test]
async fn writer_process() {
    let Ok(spec) = std::env::var(WRITER_ENV) else { return };
    let [url, run_id, token, go]: [&str; 4] = spec.split('\n').collect::<Vec<_>>().try_into().unwrap();
    let lease = Lease::new(run_id, token);
    let store = Store::open(url).await.unwrap();
    // Ready: the store is open. Then wait for the others.
    std::fs::write(format!("{go}.ready-{run_id}"), b"").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !Path::new(go).exists() {
        assert!(Instant::now() < deadline, "no go signal");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for epoch in 1..=EPOCHS {
        store.record_epoch(&lease, &epoch_row(epoch), &epoch_artefacts(epoch)).await.unwrap();
        assert!(store.heartbeat(&lease).await.unwrap());
    }
    store.finish_run(&lease, RunStatus::Finished, None).await.unwrap();
    println!("writer {run_id} recorded {EPOCHS} epochs");
}

async fn four_worker_processes_write_at_once_without_locking_errors(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let mut runs = Vec::new();
    let mut leases = Vec::new();
    for i in 0..4u32 {
        let lease = claimed_run(&store, &exp, &format!("proc-{i}"), EPOCHS, 300 + i).await;
        runs.push(lease.run_id.clone());
        leases.push(lease);
    }
    let signals = tempfile::tempdir().unwrap();
    let go = signals.path().join("go");
    let children: Vec<_> = leases
        .iter()
        .map(|lease| {
            let (run_id, token) = (&lease.run_id, &lease.token);
            Command::new(std::env::current_exe().unwrap())
                .args(["writer_process", "--exact", "--nocapture", "--test-threads", "1"])
                .env(WRITER_ENV, format!("{}\n{run_id}\n{token}\n{}", db.url(), go.display()))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // A start barrier: go once all four have opened the store.
    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = |run_id: &String| Path::new(&format!("{}.ready-{run_id}", go.display())).exists();
    while !runs.iter().all(ready) {
        assert!(Instant::now() < deadline, "a writer never opened the store");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    std::fs::write(&go, b"go").unwrap();
    let outputs = tokio::task::spawn_blocking(move || {
        children.into_iter().map(|c| c.wait_with_output().unwrap()).collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (out, run_id) in outputs.iter().zip(&runs) {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "writer {run_id} failed:\n{stdout}\n{stderr}");
        assert!(stdout.contains(&format!("writer {run_id} recorded")), "the writer body ran:\n{stdout}");
        assert!(!stdout.contains("locked") && !stderr.contains("locked"), "{stdout}\n{stderr}");
    }

    let mut seen = BTreeMap::new();
    for run_id in &runs {
        let epochs: BTreeSet<u32> = store.epochs(run_id).await.unwrap().iter().map(|e| e.epoch).collect();
        assert_eq!(epochs, (1..=EPOCHS).collect());
        assert_eq!(store.artefacts(run_id).await.unwrap().len(), 2 * EPOCHS as usize);
        seen.insert(run_id.clone(), store.run(run_id).await.unwrap().status);
    }
    assert!(seen.values().all(|s| *s == RunStatus::Finished), "{seen:?}");
    assert_eq!(store.metrics(&RunFilter::default()).await.unwrap().len(), 4 * EPOCHS as usize);
    store.integrity_check().await.unwrap();
}

async fn four_stores_in_one_process_write_at_once(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..4u32 {
        let lease = claimed_run(&store, &exp, &format!("task-{i}"), EPOCHS, 400 + i).await;
        let url = db.url();
        tasks.push(tokio::spawn(async move {
            let mine = Store::open(&url).await.unwrap();
            for epoch in 1..=EPOCHS {
                mine.record_epoch(&lease, &epoch_row(epoch), &epoch_artefacts(epoch)).await.unwrap();
                // Epochs recorded twice (a resume) must not duplicate anything.
                if epoch % 10 == 0 {
                    mine.record_epoch(&lease, &epoch_row(epoch), &epoch_artefacts(epoch)).await.unwrap();
                }
            }
            lease.run_id
        }));
    }
    for task in tasks {
        let id = task.await.unwrap();
        assert_eq!(store.epochs(&id).await.unwrap().len(), EPOCHS as usize);
        assert_eq!(store.artefacts(&id).await.unwrap().len(), 2 * EPOCHS as usize);
    }
    store.integrity_check().await.unwrap();
}

on_both_engines!(
    concurrent_claimers_of_one_configuration_have_one_winner,
    concurrent_claimers_of_one_queued_run_have_one_winner,
    two_sweeps_at_once_train_every_configuration_once,
    four_worker_processes_write_at_once_without_locking_errors,
    four_stores_in_one_process_write_at_once,
);
