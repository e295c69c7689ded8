//! Round trips of the store's API: experiments and sweeps, a run from queued to finished, resume
//! and dedup decisions, idempotent epochs, inspection queries, prefixes and garbage collection.

mod common;

use std::time::Duration;

use common::{
    Claim, ClaimRequest, LATER, STALE_AFTER, TestDb, claim_config, claimed_run, epoch_artefacts, epoch_row,
    new_run, worker,
};
use pixelcnn_record::{ArtefactKind, RunStatus};
use pixelcnn_store::{
    ArtefactContent, ClaimKind, Clock, Lease, NewArtefact, NewSweep, RunFilter, SkipReason, StoreError,
};
use serde_json::json;

async fn experiments_are_upserted_by_name_and_sweeps_recorded(db: TestDb) {
    let store = db.open().await;
    let a = store.record_experiment("levels", "first wording").await.unwrap();
    let b = store.record_experiment("levels", "second wording").await.unwrap();
    let c = store.record_experiment("blocks", "").await.unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let experiments = store.experiments().await.unwrap();
    assert_eq!(experiments.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["blocks", "levels"]);
    assert_eq!(experiments[1].description, "second wording");
    assert!(store.record_experiment(" ", "").await.is_err());

    let sweep = NewSweep {
        experiment_id: a.clone(),
        file: "experiments/levels.toml".into(),
        file_hash: "f".repeat(64),
        profile: Some("quick".into()),
        overrides: json!(["train.epochs=2"]),
        tag: Some("t1".into()),
        note: None,
    };
    let id = store.record_sweep(&sweep).await.unwrap();
    let back = store.sweep(&id).await.unwrap();
    assert_eq!(
        (back.file.as_str(), back.profile.as_deref(), &back.overrides),
        (sweep.file.as_str(), Some("quick"), &sweep.overrides)
    );
    let missing = NewSweep { experiment_id: "nope".into(), ..sweep };
    assert!(matches!(store.record_sweep(&missing).await, Err(StoreError::MissingReference { .. })));
}

async fn a_run_goes_from_queued_to_finished(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let run_id = store.create_run(&new_run(&exp, "h1", 2, 3)).await.unwrap();
    // One active attempt per configuration.
    assert!(matches!(
        store.create_run(&new_run(&exp, "h1", 2, 3)).await,
        Err(StoreError::ActiveAttemptExists { .. })
    ));

    let queued = store.run(&run_id).await.unwrap();
    assert_eq!(queued.status, RunStatus::Queued);
    assert_eq!(queued.last_epoch, None);
    assert_eq!(
        queued.run.config,
        json!({"model": {"levels": 2, "blocks": 2}, "train": {"epochs": 3, "lr": 0.001}, "seed": 42})
    );
    assert_eq!(queued.run.tags, ["test"]);
    assert_eq!(queued.run.git_dirty, Some(false));
    // A queued run has no lease: no token makes its heartbeat beat or lets epochs in.
    let guess = Lease::new(run_id.clone(), "no-lease-yet");
    assert!(!store.heartbeat(&guess).await.unwrap(), "a queued run has no worker to beat");
    assert!(matches!(
        store.record_epoch(&guess, &epoch_row(1), &[]).await,
        Err(StoreError::LeaseLost { .. })
    ));
    assert_eq!(store.epochs(&run_id).await.unwrap(), []);
    assert_eq!(store.run(&run_id).await.unwrap(), queued, "refused writes change nothing");

    let lease = store.claim(&run_id, &worker(11)).await.unwrap().expect("a queued run is claimable");
    assert_eq!(lease.run_id, run_id);
    assert_eq!(store.claim(&run_id, &worker(12)).await.unwrap(), None, "claimed once only");
    assert!(store.heartbeat(&lease).await.unwrap());
    let running = store.run(&run_id).await.unwrap();
    assert_eq!(
        (running.status, running.worker_pid, running.device.as_deref()),
        (RunStatus::Running, Some(11), Some("cpu"))
    );
    assert!(running.started_at.is_some() && running.heartbeat_at.is_some());

    for epoch in 1..=3 {
        store.record_epoch(&lease, &epoch_row(epoch), &epoch_artefacts(epoch)).await.unwrap();
    }
    assert_eq!(store.last_epoch(&run_id).await.unwrap(), 3);
    assert_eq!(store.epochs(&run_id).await.unwrap(), (1..=3).map(epoch_row).collect::<Vec<_>>());
    assert!(matches!(
        store.finish_run(&lease, RunStatus::Running, None).await,
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(store.run(&run_id).await.unwrap().status, RunStatus::Running, "refused, still running");
    store.finish_run(&lease, RunStatus::Finished, None).await.unwrap();
    let done = store.run(&run_id).await.unwrap();
    assert_eq!((done.status, done.last_epoch), (RunStatus::Finished, Some(3)));
    assert!(done.ended_at.is_some());
    assert!(!store.heartbeat(&lease).await.unwrap(), "a finished run tells its worker to stop");

    assert!(matches!(
        store.finish_run(&lease, RunStatus::Running, None).await,
        Err(StoreError::Invalid { .. })
    ));
    let missing = Lease::new("missing", lease.token.clone());
    assert!(matches!(
        store.finish_run(&missing, RunStatus::Failed, None).await,
        Err(StoreError::RunNotFound { .. })
    ));
    assert!(matches!(
        store.record_epoch(&missing, &epoch_row(1), &[]).await,
        Err(StoreError::RunNotFound { .. })
    ));
    assert_eq!(store.epochs("missing").await.unwrap(), []);
}

async fn recording_an_epoch_again_replaces_it(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let lease = claimed_run(&store, &exp, "h1", 3, 1).await;
    let run_id = lease.run_id.clone();
    store.record_epoch(&lease, &epoch_row(1), &epoch_artefacts(1)).await.unwrap();
    let mut again = epoch_row(1);
    again.seconds = 9.0;
    store.record_epoch(&lease, &again, &epoch_artefacts(1)).await.unwrap();
    store.record_epoch(&lease, &again, &epoch_artefacts(1)).await.unwrap();
    assert_eq!(store.epochs(&run_id).await.unwrap(), [again]);
    let artefacts = store.artefacts(&run_id).await.unwrap();
    assert_eq!(artefacts.len(), 2, "{artefacts:?}");
    let png = artefacts.iter().find(|a| a.kind == ArtefactKind::Samples).unwrap();
    assert!(png.has_data && png.path.is_none());
    assert_eq!(store.artefact_data(&png.id).await.unwrap(), Some(vec![0x89, b'P', b'N', b'G', 1]));
    let ckpt = artefacts.iter().find(|a| a.kind == ArtefactKind::Checkpoint).unwrap();
    assert_eq!(
        (ckpt.path.as_deref(), ckpt.sha256.as_deref()),
        (Some("runs/x/checkpoints/epoch-0001.ckpt"), Some(&*format!("{:064x}", 1)))
    );
    assert_eq!(store.artefact_data(&ckpt.id).await.unwrap(), None);
    store.integrity_check().await.unwrap();
}

async fn non_finite_metrics_round_trip(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let lease = claimed_run(&store, &exp, "h1", 3, 1).await;
    let mut row = epoch_row(1);
    row.train_nll = f64::NAN;
    row.test_nll = f64::INFINITY;
    row.validation_nll = Some(0.5);
    store.record_epoch(&lease, &row, &[]).await.unwrap();
    let back = &store.epochs(&lease.run_id).await.unwrap()[0];
    assert!(back.train_nll.is_nan());
    assert_eq!(back.test_nll, f64::INFINITY);
    assert_eq!(back.validation_nll, Some(0.5));
}

fn request(exp: &str, hash: &str, epochs: u32) -> ClaimRequest {
    ClaimRequest {
        run: new_run(exp, hash, 2, epochs),
        worker: worker(7),
        retry_failed: false,
        stale_after: None,
    }
}

async fn claims_skip_finished_extend_resume_and_retry(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    assert_eq!(store.latest_attempt("h").await.unwrap(), None);

    // None: new.
    let Claim::Claimed { run_id, lease: first, from_epoch: 0, kind: ClaimKind::Queued } =
        claim_config(&store, &request(&exp, "h", 2)).await.unwrap()
    else {
        panic!("a new configuration is claimed")
    };
    assert_eq!(first.run_id, run_id);
    // Running elsewhere: skip.
    assert_eq!(
        claim_config(&store, &request(&exp, "h", 2)).await.unwrap(),
        Claim::Skipped { run_id: run_id.clone(), reason: SkipReason::RunningElsewhere }
    );
    store.record_epoch(&first, &epoch_row(1), &[]).await.unwrap();
    // Interrupted: resume after epoch 1, under a new lease.
    store.finish_run(&first, RunStatus::Interrupted, Some("Ctrl-C")).await.unwrap();
    let latest = store.latest_attempt("h").await.unwrap().unwrap();
    assert_eq!((latest.status, latest.last_epoch), (RunStatus::Interrupted, 1));
    let Claim::Claimed { run_id: resumed, lease: second, from_epoch: 1, kind: ClaimKind::Resume } =
        claim_config(&store, &request(&exp, "h", 2)).await.unwrap()
    else {
        panic!("an interrupted attempt is resumed after its last epoch")
    };
    assert_eq!((&resumed, &second.run_id), (&run_id, &run_id));
    assert_ne!(second.token, first.token, "every claim draws a fresh token");
    assert_eq!(store.run(&run_id).await.unwrap().error, None, "resuming clears the interruption");
    store.record_epoch(&second, &epoch_row(2), &[]).await.unwrap();
    store.finish_run(&second, RunStatus::Finished, None).await.unwrap();
    // Finished with enough epochs: skip.
    assert_eq!(
        claim_config(&store, &request(&exp, "h", 2)).await.unwrap(),
        Claim::Skipped { run_id: run_id.clone(), reason: SkipReason::Finished }
    );
    // More epochs: extend the same attempt.
    let Claim::Claimed { run_id: extended, lease: third, from_epoch: 2, kind: ClaimKind::Resume } =
        claim_config(&store, &request(&exp, "h", 4)).await.unwrap()
    else {
        panic!("a finished attempt with fewer epochs is extended")
    };
    assert_eq!((&extended, &third.run_id), (&run_id, &run_id));
    assert!(third.token != first.token && third.token != second.token);
    assert_eq!(store.run(&run_id).await.unwrap().run.epochs_target, 4);
    // Failed: skip unless retried; a retry is a new attempt and the failure stays.
    store.finish_run(&third, RunStatus::Failed, Some("loss is NaN at step 123")).await.unwrap();
    assert_eq!(
        claim_config(&store, &request(&exp, "h", 4)).await.unwrap(),
        Claim::Skipped { run_id: run_id.clone(), reason: SkipReason::Failed }
    );
    let retry = ClaimRequest { retry_failed: true, ..request(&exp, "h", 4) };
    let Claim::Claimed { run_id: second_id, lease: retried, from_epoch: 0, kind: ClaimKind::Queued } =
        claim_config(&store, &retry).await.unwrap()
    else {
        panic!("a retried failure is a new attempt")
    };
    assert_ne!(second_id, run_id);
    assert_eq!(retried.run_id, second_id);
    assert_eq!(store.run(&run_id).await.unwrap().error.as_deref(), Some("loss is NaN at step 123"));
    assert_eq!(store.latest_attempt("h").await.unwrap().unwrap().run_id, second_id);
    assert_eq!(store.list_runs(&RunFilter::default()).await.unwrap().len(), 2);
}

async fn stale_running_runs_become_interrupted_and_resumable(db: TestDb) {
    let clock = Clock::default();
    let store = db.open_at(&clock).await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let Claim::Claimed { run_id, lease, .. } = claim_config(&store, &request(&exp, "h", 3)).await.unwrap()
    else {
        panic!()
    };
    store.record_epoch(&lease, &epoch_row(1), &[]).await.unwrap();
    assert!(store.mark_stale_running_as_interrupted(Duration::from_secs(60)).await.unwrap().is_empty());
    clock.advance(LATER);
    assert_eq!(store.mark_stale_running_as_interrupted(STALE_AFTER).await.unwrap(), vec![run_id.clone()]);
    let run = store.run(&run_id).await.unwrap();
    assert_eq!(run.status, RunStatus::Interrupted);
    assert!(run.error.unwrap().contains("heartbeat"));
    assert!(!store.heartbeat(&lease).await.unwrap(), "the old worker learns it lost the run");

    // A stale heartbeat also lets claim_config take the run over directly.
    let reclaimed = store.claim(&run_id, &worker(8)).await.unwrap().expect("an interrupted run is claimable");
    assert_ne!(reclaimed.token, lease.token);
    clock.advance(LATER);
    let stale = ClaimRequest { stale_after: Some(STALE_AFTER), ..request(&exp, "h", 3) };
    let Claim::Claimed { run_id: taken, lease: taker, from_epoch: 1, kind: ClaimKind::Resume } =
        claim_config(&store, &stale).await.unwrap()
    else {
        panic!("a stale running attempt is taken over")
    };
    assert_eq!((&taken, &taker.run_id), (&run_id, &run_id));
    assert_eq!(store.run(&run_id).await.unwrap().worker_pid, Some(7));
    assert!(!store.heartbeat(&reclaimed).await.unwrap(), "the worker taken over learns it lost the run");
    assert!(store.heartbeat(&taker).await.unwrap());
}

async fn inspection_queries_filter_and_join(db: TestDb) {
    let store = db.open().await;
    let levels = store.record_experiment("levels", "").await.unwrap();
    let blocks = store.record_experiment("blocks", "").await.unwrap();
    let mut ids = Vec::new();
    let mut leases = Vec::new();
    for (exp, hash, q) in [(&levels, "a", 2), (&levels, "b", 256), (&blocks, "c", 2)] {
        let Claim::Claimed { run_id, lease, .. } =
            claim_config(&store, &ClaimRequest { run: new_run(exp, hash, q, 2), ..request(exp, hash, 2) })
                .await
                .unwrap()
        else {
            panic!()
        };
        for epoch in 1..=2 {
            store.record_epoch(&lease, &epoch_row(epoch), &[]).await.unwrap();
        }
        ids.push(run_id);
        leases.push(lease);
    }
    store.finish_run(&leases[0], RunStatus::Finished, None).await.unwrap();

    let all = store.list_runs(&RunFilter::default()).await.unwrap();
    assert_eq!(all.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), ids);
    assert_eq!(all[0].last_epoch, Some(2));
    assert_eq!(all[0].last_test_bits_per_dim, Some(epoch_row(2).test_bits_per_dim));
    assert_eq!(all[0].run.varying, json!({"model.levels": 2}));

    let by_exp = RunFilter { experiment: Some("levels".into()), ..RunFilter::default() };
    assert_eq!(store.list_runs(&by_exp).await.unwrap().len(), 2);
    let by_status = RunFilter { status: Some(RunStatus::Finished), ..RunFilter::default() };
    assert_eq!(
        store.list_runs(&by_status).await.unwrap().iter().map(|r| &r.id).collect::<Vec<_>>(),
        [&ids[0]]
    );
    let by_value = RunFilter { predicates: vec!["model.levels=2".parse().unwrap()], ..RunFilter::default() };
    assert_eq!(store.list_runs(&by_value).await.unwrap().len(), 2);
    let combined = RunFilter { experiment: Some("levels".into()), ..by_value.clone() };
    assert_eq!(
        store.list_runs(&combined).await.unwrap().iter().map(|r| &r.id).collect::<Vec<_>>(),
        [&ids[0]]
    );
    let nothing = RunFilter { experiment: Some("nope".into()), ..RunFilter::default() };
    assert!(store.list_runs(&nothing).await.unwrap().is_empty());

    let metrics = store.metrics(&by_value).await.unwrap();
    assert_eq!(metrics.len(), 4);
    assert_eq!(
        metrics.iter().map(|m| (m.run_id.clone(), m.metrics.epoch)).collect::<Vec<_>>(),
        [(ids[0].clone(), 1), (ids[0].clone(), 2), (ids[2].clone(), 1), (ids[2].clone(), 2)]
    );
    assert_eq!(metrics[2].experiment, "blocks");
    assert_eq!(metrics[0].config["model"]["levels"], json!(2));
    assert_eq!(metrics[1].metrics, epoch_row(2));
    assert_eq!(store.experiments().await.unwrap().iter().map(|e| e.runs).collect::<Vec<_>>(), [1, 2]);
}

async fn run_ids_are_found_by_unique_prefix(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(store.create_run(&new_run(&exp, &format!("h{i}"), 2, 1)).await.unwrap());
    }
    // Full ids, upper case and unique prefixes.
    for id in &ids {
        assert_eq!(&store.run(id).await.unwrap().id, id);
        assert_eq!(&store.run(&id.to_uppercase()).await.unwrap().id, id);
        let unique = (1..=id.len())
            .map(|n| &id[..n])
            .find(|p| ids.iter().filter(|o| o.starts_with(p)).count() == 1)
            .unwrap();
        assert_eq!(&store.run(unique).await.unwrap().id, id);
    }
    // 40 UUIDs share some first hex digit: that prefix is ambiguous and lists its candidates.
    let digit = (0..16)
        .map(|d| format!("{d:x}"))
        .find(|d| ids.iter().filter(|id| id.starts_with(d.as_str())).count() > 1)
        .unwrap();
    match store.run(&digit).await {
        Err(err @ StoreError::AmbiguousPrefix { .. }) => {
            let StoreError::AmbiguousPrefix { candidates, .. } = &err else { unreachable!() };
            assert_eq!(candidates.len(), ids.iter().filter(|id| id.starts_with(digit.as_str())).count());
            assert!(candidates.iter().all(|c| err.to_string().contains(c.as_str())));
        }
        other => panic!("expected an ambiguity, got {other:?}"),
    }
    for missing in ["", "zz", "%", "_", "ffffffff-ffff-ffff"] {
        assert!(matches!(store.run(missing).await, Err(StoreError::RunNotFound { .. })), "{missing}");
    }
}

async fn gc_lists_files_of_removed_runs_and_checkpoints_retention_drops(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let kept_lease = claimed_run(&store, &exp, "a", 5, 1).await;
    let removed_lease = claimed_run(&store, &exp, "b", 5, 2).await;
    let (kept, removed) = (kept_lease.run_id.clone(), removed_lease.run_id.clone());
    for lease in [&kept_lease, &removed_lease] {
        for epoch in 1..=5 {
            let mut row = epoch_row(epoch);
            // Best epoch is 2 for the kept run.
            if epoch == 2 {
                row.test_nll = 0.01;
            }
            store.record_epoch(lease, &row, &epoch_artefacts(epoch)).await.unwrap();
        }
    }
    store.delete_run(&removed).await.unwrap();
    assert!(matches!(store.run(&removed).await, Err(StoreError::RunNotFound { .. })));
    assert!(matches!(store.delete_run(&removed).await, Err(StoreError::RunNotFound { .. })));
    assert_eq!(store.epochs(&removed).await.unwrap(), []);
    let left = store.artefacts(&removed).await.unwrap();
    assert!(
        left.len() == 5 && left.iter().all(|a| a.kind == ArtefactKind::Checkpoint),
        "pictures go, file rows stay"
    );

    let candidates = store.gc_candidates().await.unwrap();
    let of = |run: &str| candidates.iter().filter(|a| a.run_id == run).map(|a| a.epoch).collect::<Vec<_>>();
    assert_eq!(of(&removed), [1, 2, 3, 4, 5]);
    assert_eq!(of(&kept), [1, 3, 4], "last (5) and best (2) are kept");

    for artefact in &candidates {
        assert!(store.mark_artefact_deleted(&artefact.id).await.unwrap());
        assert!(!store.mark_artefact_deleted(&artefact.id).await.unwrap(), "once");
    }
    assert!(store.gc_candidates().await.unwrap().is_empty());
    assert!(store.artefacts(&removed).await.unwrap().iter().all(|a| a.deleted_at.is_some()));

    // A checkpoint written again (a resume re-trained that epoch) is live again.
    let again = NewArtefact {
        kind: ArtefactKind::Checkpoint,
        name: "epoch-0003.ckpt".into(),
        media_type: "application/octet-stream".into(),
        content: ArtefactContent::File {
            path: "runs/x/checkpoints/epoch-0003.ckpt".into(),
            sha256: "ab".repeat(32),
            size_bytes: None,
        },
    };
    store.add_artefact(&kept_lease, 3, &again).await.unwrap();
    let epoch3 = store
        .artefacts(&kept)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.epoch == 3 && a.kind == ArtefactKind::Checkpoint)
        .unwrap();
    assert_eq!((epoch3.deleted_at, epoch3.sha256), (None, Some("ab".repeat(32))));
    store.integrity_check().await.unwrap();
}

/// Tags and notes are edited after the fact, concurrent tag edits both land, and the tag and a
/// threshold on the last epoch's numbers select runs.
async fn runs_are_labelled_after_the_fact(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let lease = claimed_run(&store, &exp, "a", 2, 1).await;
    let other = claimed_run(&store, &exp, "b", 2, 2).await;
    let id = lease.run_id.clone();
    let tags = |add: &[&str], remove: &[&str]| {
        let (add, remove): (Vec<String>, Vec<String>) =
            (add.iter().map(|t| t.to_string()).collect(), remove.iter().map(|t| t.to_string()).collect());
        let (store, id) = (store.clone(), id.clone());
        async move { store.edit_tags(&id, &add, &remove).await }
    };
    // The run was created with the tag `test`; new tags go after it.
    assert_eq!(tags(&["draft", "q2"], &[]).await.unwrap(), ["test", "draft", "q2"]);
    assert_eq!(tags(&["best", "q2"], &["draft", "test"]).await.unwrap(), ["q2", "best"]);
    // Two edits at once: neither is lost.
    let (a, b) = tokio::join!(tags(&["x"], &[]), tags(&["y"], &[]));
    a.unwrap();
    b.unwrap();
    let now = store.run(&id).await.unwrap().run.tags;
    assert!(now.contains(&"x".to_string()) && now.contains(&"y".to_string()), "{now:?}");
    assert!(matches!(tags(&["two words"], &[]).await, Err(StoreError::Invalid { .. })));
    assert!(matches!(store.edit_tags("no-such-run", &[], &[]).await, Err(StoreError::RunNotFound { .. })));

    store.set_note(&id, Some("  lr too high?  ")).await.unwrap();
    assert_eq!(store.run(&id).await.unwrap().run.note.as_deref(), Some("lr too high?"));
    store.set_note(&id, Some("")).await.unwrap();
    assert_eq!(store.run(&id).await.unwrap().run.note, None);

    let mut low = epoch_row(1);
    low.test_bits_per_dim = 0.1;
    store.record_epoch(&lease, &low, &[]).await.unwrap();
    let mut high = epoch_row(1);
    high.test_bits_per_dim = 0.2;
    store.record_epoch(&other, &high, &[]).await.unwrap();
    let ids = |filter: RunFilter| {
        let store = store.clone();
        async move { store.list_runs(&filter).await.unwrap().into_iter().map(|r| r.id).collect::<Vec<_>>() }
    };
    assert_eq!(
        ids(RunFilter { tag: Some("best".into()), ..RunFilter::default() }).await,
        std::slice::from_ref(&id)
    );
    let below =
        RunFilter { predicates: vec!["test_bits_per_dim<0.15".parse().unwrap()], ..RunFilter::default() };
    assert_eq!(ids(below).await, std::slice::from_ref(&id));
    let above =
        RunFilter { predicates: vec!["test_bits_per_dim>=0.15".parse().unwrap()], ..RunFilter::default() };
    assert_eq!(ids(above).await, std::slice::from_ref(&other.run_id));
}

on_both_engines!(
    runs_are_labelled_after_the_fact,
    experiments_are_upserted_by_name_and_sweeps_recorded,
    a_run_goes_from_queued_to_finished,
    recording_an_epoch_again_replaces_it,
    non_finite_metrics_round_trip,
    claims_skip_finished_extend_resume_and_retry,
    stale_running_runs_become_interrupted_and_resumable,
    inspection_queries_filter_and_join,
    run_ids_are_found_by_unique_prefix,
    gc_lists_files_of_removed_runs_and_checkpoints_retention_drops,
);
