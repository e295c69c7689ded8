//! `gc` keeps what each run's own configuration asks for (`checkpoint.keep_last`,
//! `checkpoint.keep_best` in `runs.config_json`), not one retention for the whole database.

mod common;

use common::{TestDb, epoch_artefacts, epoch_row, new_run, worker};
use pixelcnn_store::{Store, StoreError};
use serde_json::{Value, json};

/// A run of configuration `hash` whose stored configuration has `checkpoint` (when given), with
/// five epochs and a checkpoint each; its best epoch (lowest test NLL) is 2.
async fn run_with(store: &Store, exp: &str, hash: &str, checkpoint: Option<Value>) -> String {
    let mut new = new_run(exp, hash, 2, 5);
    if let Some(checkpoint) = checkpoint {
        new.config["checkpoint"] = checkpoint;
    }
    let run = store.create_run(&new).await.unwrap();
    let lease = store.claim(&run, &worker(1)).await.unwrap().expect("claimed");
    for epoch in 1..=5 {
        let mut row = epoch_row(epoch);
        if epoch == 2 {
            row.test_nll = 0.01;
        }
        store.record_epoch(&lease, &row, &epoch_artefacts(epoch)).await.unwrap();
    }
    run
}

async fn each_run_keeps_the_checkpoints_its_own_configuration_asks_for(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let five = run_with(&store, &exp, "five", Some(json!({"keep_last": 5, "keep_best": true}))).await;
    let no_best = run_with(&store, &exp, "no-best", Some(json!({"keep_last": 1, "keep_best": false}))).await;
    let two = run_with(&store, &exp, "two", Some(json!({"keep_last": 2}))).await;
    let old = run_with(&store, &exp, "old", None).await;

    let candidates = store.gc_candidates().await.unwrap();
    let of = |run: &str| candidates.iter().filter(|a| a.run_id == run).map(|a| a.epoch).collect::<Vec<_>>();
    assert_eq!(of(&five), Vec::<u32>::new(), "keep_last = 5 keeps all five");
    assert_eq!(of(&no_best), [1, 2, 3, 4], "keep_best = false drops the best (2), keeps the last (5)");
    assert_eq!(of(&two), [1, 3], "keep_last = 2 keeps 4 and 5, keep_best's default keeps 2");
    assert_eq!(of(&old), [1, 3, 4], "no checkpoint section: the defaults keep last (5) and best (2)");
}

/// gc picks the best epoch by the rule the trainer uses (`pixelcnn_record::best_epoch`):
/// validation NLL when recorded, the earlier epoch on a tie.
async fn the_best_epoch_is_the_trainers(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let run = store.create_run(&new_run(&exp, "validated", 2, 5)).await.unwrap();
    let lease = store.claim(&run, &worker(1)).await.unwrap().expect("claimed");
    for epoch in 1..=5 {
        let mut row = epoch_row(epoch);
        // Test NLL would pick 1; validation picks 3, tied with 4.
        row.test_nll = if epoch == 1 { 0.001 } else { 0.5 };
        row.validation_nll = Some(if epoch == 3 || epoch == 4 { 0.2 } else { 0.9 });
        store.record_epoch(&lease, &row, &epoch_artefacts(epoch)).await.unwrap();
    }
    let candidates = store.gc_candidates().await.unwrap();
    let epochs: Vec<u32> = candidates.iter().filter(|a| a.run_id == run).map(|a| a.epoch).collect();
    assert_eq!(epochs, [1, 2, 4], "last (5) and best by validation, earlier of a tie (3)");
}

async fn gc_refuses_a_run_whose_stored_retention_is_unreadable(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    // A value of the wrong kind is an error naming the key, never read as "keep nothing".
    for (hash, bad) in [("minus", json!({"keep_last": -1})), ("text", json!({"keep_last": "all"}))] {
        let run = run_with(&store, &exp, hash, Some(bad)).await;
        match store.gc_candidates().await {
            Err(err @ StoreError::BadValue { .. }) => {
                assert!(err.to_string().contains("keep_last"), "{err}");
            }
            other => panic!("expected a bad value, got {other:?}"),
        }
        store.delete_run(&run).await.unwrap();
    }
    run_with(&store, &exp, "wrong-flag", Some(json!({"keep_best": 0}))).await;
    let err = store.gc_candidates().await.unwrap_err();
    assert!(err.to_string().contains("keep_best"), "{err}");
}

on_both_engines!(
    each_run_keeps_the_checkpoints_its_own_configuration_asks_for,
    the_best_epoch_is_the_trainers,
    gc_refuses_a_run_whose_stored_retention_is_unreadable,
);
