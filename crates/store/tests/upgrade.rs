//! Upgrading a database written before adaptive searches (migrations 0001 to 0004): migration 0005
//! rebuilds `runs.status` to allow `pruned`, and must keep every run, status and epoch, the
//! foreign keys and the one-active-attempt rule, on both engines.

mod common;

use std::path::Path;

use common::{TestDb, epoch_row, new_run, worker};
use pixelcnn_record::{Asha, Promotion, RunStatus, RungDecision, RungMetric};
use pixelcnn_store::{RunFilter, Search, StoreError};
use sqlx::Connection;

/// The database at `url` migrated to 0004 only, as the previous release left it, with one run of
/// each status and epochs for two of them.
async fn previous_release(url: &str) {
    sqlx::any::install_default_drivers();
    let old = tempfile::tempdir().unwrap();
    let all = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    for entry in std::fs::read_dir(&all).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.as_str() < "0005" {
            std::fs::copy(&path, old.path().join(&name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(old.path()).await.unwrap();
    assert_eq!(migrator.iter().count(), 4);
    let connect = if url.starts_with("sqlite") { format!("{url}?mode=rwc") } else { url.to_owned() };
    if let Some(file) = url.strip_prefix("sqlite://") {
        std::fs::create_dir_all(Path::new(file).parent().unwrap()).unwrap();
    }
    let mut conn = sqlx::AnyConnection::connect(&connect).await.unwrap();
    migrator.run_direct(&mut conn).await.unwrap();
    sqlx::query(
        "INSERT INTO experiments (id, name, created_at) VALUES ('e', 'old', '2025-01-01T00:00:00.000000Z')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    for (id, status) in [
        ("r-q", "queued"),
        ("r-r", "running"),
        ("r-f", "finished"),
        ("r-x", "failed"),
        ("r-i", "interrupted"),
    ] {
        sqlx::query(
            "INSERT INTO runs (id, experiment_id, config_hash, config_json, config_toml, status, epochs_target, created_at) \
             VALUES ($1, 'e', $2, '{}', '', $3, 3, '2025-01-01T00:00:00.000000Z')",
        )
        .bind(id)
        .bind(format!("hash-{id}"))
        .bind(status)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    for (run, epoch) in [("r-f", 1), ("r-f", 2), ("r-i", 1)] {
        sqlx::query(
            "INSERT INTO epochs (run_id, epoch, step, test_nll, recorded_at) VALUES ($1, $2, 10, 0.5, '2025-01-01T00:00:00.000000Z')",
        )
        .bind(run)
        .bind(epoch)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    conn.close().await.unwrap();
}

async fn runs_statuses_and_epochs_survive_the_status_rebuild(db: TestDb) {
    previous_release(&db.url()).await;
    let store = db.open().await;
    let runs = store.list_runs(&RunFilter::default()).await.unwrap();
    let mut statuses: Vec<(String, RunStatus, Option<u32>)> =
        runs.iter().map(|r| (r.id.clone(), r.status, r.last_epoch)).collect();
    statuses.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        statuses,
        [
            ("r-f".to_owned(), RunStatus::Finished, Some(2)),
            ("r-i".to_owned(), RunStatus::Interrupted, Some(1)),
            ("r-q".to_owned(), RunStatus::Queued, None),
            ("r-r".to_owned(), RunStatus::Running, None),
            ("r-x".to_owned(), RunStatus::Failed, None),
        ]
    );
    assert_eq!(store.epochs("r-f").await.unwrap().len(), 2, "no epoch lost to a cascade");
    // Still one active attempt per configuration.
    let twin = new_run("e", "hash-r-q", 2, 3);
    assert!(matches!(store.create_run(&twin).await, Err(StoreError::ActiveAttemptExists { .. })));
    // And the rebuilt column takes the new status: r-i is pruned behind a better r-q.
    let asha = Asha {
        metric: RungMetric::TestNll,
        reduction_factor: 2,
        grace_epochs: 1,
        max_epochs: 3,
        promotion: Promotion::Asynchronous,
    };
    let search = Search { id: "s".into(), experiment_id: "e".into(), asha };
    store.join_search("e", Some(&search), &["hash-r-q".into(), "hash-r-i".into()]).await.unwrap();
    let better = store.claim("r-q", &worker(1)).await.unwrap().unwrap();
    let mut best = epoch_row(1);
    best.test_nll = 0.1;
    store.record_epoch(&better, &best, &[]).await.unwrap();
    store.decide_rung(&better, &search, 0).await.unwrap();
    let worse = store.claim("r-i", &worker(2)).await.unwrap().unwrap();
    assert_eq!(store.decide_rung(&worse, &search, 0).await.unwrap().ranking.decision, RungDecision::Stop);
    let pruned = RunFilter { status: Some(RunStatus::Pruned), ..RunFilter::default() };
    let pruned: Vec<String> = store.list_runs(&pruned).await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(pruned, ["r-i"]);
    store.integrity_check().await.unwrap();
}

on_both_engines!(runs_statuses_and_epochs_survive_the_status_rebuild);
