//! `store copy`: a database moved to the other engine and back is the same, row for row and value
//! for value (NaN metrics, booleans, PNG bytes, NULLs and rung decisions included), and a
//! non-empty target is refused without writing anything.

mod common;

use common::{
    Claim, ClaimRequest, TempDb, claim_config, claimed_run, epoch_artefacts, epoch_row, new_run, start_rerun,
    worker,
};
use pixelcnn_record::{Asha, Promotion, RunStatus, RungMetric};
use pixelcnn_store::scratch::ScratchPostgres;
use pixelcnn_store::{NewSweep, RerunVerdict, RunFilter, Search, Store, StoreError, Verdict};
use serde_json::json;

/// A database with one of everything the store records.
async fn fill(store: &Store) {
    let exp = store.record_experiment("levels", "2 vs 256 levels").await.unwrap();
    store.record_experiment("empty", "").await.unwrap();
    store
        .record_sweep(&NewSweep {
            experiment_id: exp.clone(),
            file: "experiments/levels.toml".into(),
            file_hash: "f".repeat(64),
            profile: Some("quick".into()),
            overrides: json!(["train.epochs=2"]),
            tag: None,
            note: Some("copied".into()),
        })
        .await
        .unwrap();
    let finished = claimed_run(store, &exp, "h-finished", 2, 1).await;
    for epoch in 1..=2 {
        let mut metrics = epoch_row(epoch);
        if epoch == 2 {
            metrics.train_nll = f64::NAN;
        }
        store.record_epoch(&finished, &metrics, &epoch_artefacts(epoch)).await.unwrap();
    }
    store.finish_run(&finished, RunStatus::Finished, None).await.unwrap();
    let running = claimed_run(store, &exp, "h-running", 3, 2).await;
    store.record_epoch(&running, &epoch_row(1), &[]).await.unwrap();
    // An ASHA search: the running run continues past its first rung, a worse one is pruned there.
    let asha = Asha {
        metric: RungMetric::TestNll,
        reduction_factor: 2,
        grace_epochs: 1,
        max_epochs: 3,
        promotion: Promotion::Asynchronous,
    };
    let search = Search { id: "search-levels".into(), experiment_id: exp.clone(), asha };
    store.join_search(&exp, Some(&search), &["h-running".into(), "h-pruned".into()]).await.unwrap();
    store.decide_rung(&running, &search, 0).await.unwrap();
    let pruned = claimed_run(store, &exp, "h-pruned", 3, 5).await;
    let mut worse = epoch_row(1);
    worse.test_nll = 0.9;
    store.record_epoch(&pruned, &worse, &[]).await.unwrap();
    store.decide_rung(&pruned, &search, 0).await.unwrap();
    let request = ClaimRequest {
        run: new_run(&exp, "h-claimed", 2, 1),
        worker: worker(4),
        retry_failed: false,
        stale_after: None,
    };
    assert!(matches!(claim_config(store, &request).await.unwrap(), Claim::Claimed { .. }));
    let mut dirty = new_run(&exp, "h-queued", 256, 4);
    dirty.git_dirty = None;
    store.create_run(&dirty).await.unwrap();
    let mut rerun = new_run(&exp, "h-finished", 2, 2);
    rerun.rerun_of = Some(finished.run_id.clone());
    rerun.git_dirty = Some(true);
    let lease = start_rerun(store, &rerun, &worker(3)).await.unwrap();
    store.finish_run(&lease, RunStatus::Failed, Some("diverged")).await.unwrap();
    store
        .record_verdict(&RerunVerdict {
            run_id: lease.run_id.clone(),
            original_id: finished.run_id.clone(),
            verdict: Verdict::Differs,
            epochs_compared: 0,
            first_difference: None,
            max_relative_difference: 0.25,
            tolerance: None,
            environment_changed: true,
            environment_note: "threads 2 -> 4".into(),
            created_at: String::new(),
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_and_back_is_lossless() {
    let Some(pg) = ScratchPostgres::for_test().await else { return };
    let first = TempDb::new();
    let source = first.open().await;
    fill(&source).await;
    let original = source.dump().await.unwrap();
    assert!(original.values().all(|table| !table.rows.is_empty()), "every table has rows: {original:?}");

    let server = Store::open(pg.url()).await.unwrap();
    let counts = source.copy_to(&server).await.unwrap();
    assert_eq!(counts.iter().find(|(t, _)| *t == "runs").unwrap().1, 6);
    assert_eq!(server.dump().await.unwrap(), original, "SQLite -> PostgreSQL");

    let back = TempDb::new();
    let returned = back.open().await;
    server.copy_to(&returned).await.unwrap();
    assert_eq!(returned.dump().await.unwrap(), original, "PostgreSQL -> SQLite");

    // What the commands read is the same on every copy.
    for store in [&server, &returned] {
        assert_eq!(
            format!("{:?}", store.list_runs(&RunFilter::default()).await.unwrap()),
            format!("{:?}", source.list_runs(&RunFilter::default()).await.unwrap())
        );
        assert_eq!(
            format!("{:?}", store.metrics(&RunFilter::default()).await.unwrap()),
            format!("{:?}", source.metrics(&RunFilter::default()).await.unwrap())
        );
    }
    let nan = returned.metrics(&RunFilter::default()).await.unwrap();
    assert!(nan.iter().any(|m| m.metrics.train_nll.is_nan()), "a NaN stays NaN");
}

#[tokio::test]
async fn a_target_with_results_is_refused_and_left_alone() {
    let (a, b) = (TempDb::new(), TempDb::new());
    let (source, target) = (a.open().await, b.open().await);
    fill(&source).await;
    target.record_experiment("mine", "").await.unwrap();
    let before = target.dump().await.unwrap();
    let err = source.copy_to(&target).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains(&b.path.display().to_string()), "{err}");
    assert_eq!(target.dump().await.unwrap(), before);
}
