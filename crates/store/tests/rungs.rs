//! Rung decisions of adaptive searches on both engines: taken inside a transaction from the
//! recorded epoch, once per run and rung (asking again after a restart reads the decision), final
//! for pruned runs whatever a sweep asks, serialised between concurrent deciders, and ranked on the
//! exact values stored (ties by configuration hash, late arrivals against every earlier run).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{
    Claim, ClaimRequest, LATER, STALE_AFTER, TestDb, claim_config, claimed_run, epoch_row, new_run,
    start_rerun, worker,
};
use pixelcnn_record::{Asha, Promotion, RunStatus, RungDecision, RungMetric};
use pixelcnn_store::{Clock, Enqueued, Lease, RunFilter, Search, SkipReason, Store, StoreError};

const STALE: Duration = Duration::from_secs(60);

/// A search of experiment `exp` with reduction factor `eta`, rungs at epochs 1 and 3 (eta = 3)
/// before 9, ranking the test NLL.
fn search(exp: &str, eta: u32) -> Search {
    Search {
        id: format!("search-{exp}-{eta}"),
        experiment_id: exp.to_owned(),
        asha: Asha {
            metric: RungMetric::TestNll,
            reduction_factor: eta,
            grace_epochs: 1,
            max_epochs: 9,
            promotion: Promotion::Asynchronous,
        },
    }
}

/// A claimed run of configuration `hash`, in `search`, whose epochs 1..=`epochs` are recorded,
/// the last with test NLL `value`.
async fn run_at(store: &Store, search: &Search, hash: &str, epochs: u32, value: f64) -> Lease {
    let lease = claimed_run(store, &search.experiment_id, hash, 9, 1).await;
    store.join_search(&search.experiment_id, Some(search), &[hash.to_owned()]).await.unwrap();
    for epoch in 1..=epochs {
        let mut row = epoch_row(epoch);
        if epoch == epochs {
            row.test_nll = value;
        }
        store.record_epoch(&lease, &row, &[]).await.unwrap();
    }
    lease
}

async fn decisions_follow_the_rule_and_a_stop_prunes_the_run(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("asha", "").await.unwrap();
    let s = search(&exp, 3);
    let mut decided = Vec::new();
    for (hash, value) in [("c1", 0.5), ("c2", 0.6), ("c3", 0.4), ("c4", 0.45)] {
        let lease = run_at(&store, &s, hash, 1, value).await;
        assert_eq!(store.search_of(&lease.run_id).await.unwrap().as_ref(), Some(&s));
        let record = store.decide_rung(&lease, &s, 0).await.unwrap();
        assert_eq!((record.epoch, record.value, record.metric), (1, Some(value), RungMetric::TestNll));
        decided.push((lease, record));
    }
    let decisions: Vec<(u32, u32, u32, RungDecision)> = decided
        .iter()
        .map(|(_, r)| (r.ranking.rank, r.ranking.recorded, r.ranking.quota, r.ranking.decision))
        .collect();
    use RungDecision::{Continue, Stop};
    // First always; 0.6 is not the best of two; 0.4 is the best of three; 0.45 is second of four.
    assert_eq!(decisions, [(1, 1, 1, Continue), (2, 2, 1, Stop), (1, 3, 1, Continue), (2, 4, 1, Stop)]);

    let (pruned, _) = &decided[1];
    let detail = store.run(&pruned.run_id).await.unwrap();
    assert_eq!((detail.status, detail.error.as_deref()), (RunStatus::Pruned, None));
    assert!(detail.ended_at.is_some());
    assert!(!store.heartbeat(pruned).await.unwrap(), "a stop ends the lease");
    assert!(matches!(
        store.record_epoch(pruned, &epoch_row(2), &[]).await,
        Err(StoreError::LeaseLost { .. })
    ));
    let (running, _) = &decided[0];
    assert_eq!(store.run(&running.run_id).await.unwrap().status, RunStatus::Running, "continue: trains on");

    // Listing: by status, per run, per experiment in the order decided.
    let filter = RunFilter { status: Some(RunStatus::Pruned), ..RunFilter::default() };
    assert_eq!(store.list_runs(&filter).await.unwrap().len(), 2);
    assert_eq!(store.rung_decisions(&pruned.run_id).await.unwrap(), vec![decided[1].1.clone()]);
    let all = store.experiment_rung_decisions("asha").await.unwrap();
    assert_eq!(all.iter().map(|r| r.config_hash.as_str()).collect::<Vec<_>>(), ["c1", "c2", "c3", "c4"]);

    // Only a rung decision prunes.
    let other = claimed_run(&store, &exp, "c9", 9, 2).await;
    assert!(matches!(
        store.finish_run(&other, RunStatus::Pruned, None).await,
        Err(StoreError::Invalid { .. })
    ));
}

async fn a_pruned_configuration_is_never_trained_again(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("asha", "").await.unwrap();
    let s = search(&exp, 2);
    let good = run_at(&store, &s, "good", 1, 0.1).await;
    store.decide_rung(&good, &s, 0).await.unwrap();
    let bad = run_at(&store, &s, "bad", 1, 0.9).await;
    store.decide_rung(&bad, &s, 0).await.unwrap();
    assert_eq!(store.run(&bad.run_id).await.unwrap().status, RunStatus::Pruned);
    for retry_failed in [false, true] {
        let request = ClaimRequest {
            run: new_run(&exp, "bad", 2, 9),
            worker: worker(5),
            retry_failed,
            stale_after: Some(STALE),
        };
        let claim = claim_config(&store, &request).await.unwrap();
        assert_eq!(claim, Claim::Skipped { run_id: bad.run_id.clone(), reason: SkipReason::Pruned });
        let queued =
            store.enqueue_config(&new_run(&exp, "bad", 2, 20), retry_failed, Some(STALE)).await.unwrap();
        assert_eq!(queued, Enqueued::Skipped { run_id: bad.run_id.clone(), reason: SkipReason::Pruned });
    }
    assert!(
        store
            .claim_next(&["bad".to_owned()], &worker(6), Duration::ZERO)
            .await
            .unwrap()
            .map(|t| t.lease.run_id)
            != Some(bad.run_id.clone())
    );
    // Marking stale runs interrupted leaves it alone too.
    store.mark_stale_running_as_interrupted(Duration::ZERO).await.unwrap();
    assert_eq!(store.run(&bad.run_id).await.unwrap().status, RunStatus::Pruned);
}

async fn a_restarted_worker_reads_its_decision_instead_of_deciding_again(db: TestDb) {
    let clock = Clock::default();
    let store = db.open_at(&clock).await;
    let exp = store.record_experiment("asha", "").await.unwrap();
    let s = search(&exp, 3);
    let first = run_at(&store, &s, "a", 1, 0.5).await;
    let decided = store.decide_rung(&first, &s, 0).await.unwrap();
    assert_eq!(decided.ranking.decision, RungDecision::Continue);
    // Better runs arrive meanwhile; had `a` decided now, it would stop.
    for (hash, value) in [("b", 0.1), ("c", 0.2), ("d", 0.3)] {
        let lease = run_at(&store, &s, hash, 1, value).await;
        store.decide_rung(&lease, &s, 0).await.unwrap();
    }
    // `a`'s worker dies (kill -9) and its run is taken over; the new worker asks again.
    clock.advance(LATER);
    store.mark_stale_running_as_interrupted(STALE_AFTER).await.unwrap();
    let again = store.claim(&first.run_id, &worker(7)).await.unwrap().expect("interrupted: claimable");
    assert_eq!(store.decide_rung(&again, &s, 0).await.unwrap(), decided, "the recorded decision");
    assert_eq!(store.experiment_rung_decisions("asha").await.unwrap().len(), 4, "nothing added");
    // The old worker's lease is gone: it cannot decide anything.
    assert!(matches!(store.decide_rung(&first, &s, 0).await, Err(StoreError::LeaseLost { .. })));
    // A rung the search does not have, or an epoch not recorded yet, is refused.
    assert!(matches!(store.decide_rung(&again, &s, 5).await, Err(StoreError::Invalid { .. })));
    assert!(matches!(store.decide_rung(&again, &s, 1).await, Err(StoreError::Invalid { .. })));
    assert_eq!(store.rung_decisions(&again.run_id).await.unwrap().len(), 1);
}

async fn concurrent_deciders_of_one_search_are_serialised(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("asha", "").await.unwrap();
    let s = search(&exp, 3);
    let n = 8u32;
    let mut leases = Vec::new();
    for i in 0..n {
        // Distinct values; the best is c0.
        leases.push(run_at(&store, &s, &format!("c{i}"), 1, 0.1 + f64::from(i) / 100.0).await);
    }
    let tasks: Vec<_> = leases
        .iter()
        .cloned()
        .map(|lease| {
            let (url, s) = (db.url(), s.clone());
            tokio::spawn(
                async move { Store::open(&url).await.unwrap().decide_rung(&lease, &s, 0).await.unwrap() },
            )
        })
        .collect();
    let mut records = Vec::new();
    for task in tasks {
        records.push(task.await.unwrap());
    }
    // Each decider saw every decision committed before its own: the counts are 1..=n, once each.
    let counts: BTreeSet<u32> = records.iter().map(|r| r.ranking.recorded).collect();
    assert_eq!(counts, (1..=n).collect(), "{records:?}");
    // The best configuration continues whenever it arrived.
    let best = records.iter().find(|r| r.config_hash == "c0").unwrap();
    assert_eq!((best.ranking.rank, best.ranking.decision), (1, RungDecision::Continue));
    // Replaying the arrivals in the recorded order with the pure rule gives the same decisions.
    let mut ordered = records.clone();
    ordered.sort_by_key(|r| r.ranking.recorded);
    for (i, r) in ordered.iter().enumerate() {
        let earlier: Vec<pixelcnn_record::RungEntry<'_>> = ordered[..i]
            .iter()
            .map(|e| pixelcnn_record::RungEntry { config_hash: &e.config_hash, value: e.value })
            .collect();
        let own = pixelcnn_record::RungEntry { config_hash: &r.config_hash, value: r.value };
        assert_eq!(pixelcnn_record::rank_at_rung(3, own, &earlier), r.ranking);
    }
    let pruned =
        store.list_runs(&RunFilter { status: Some(RunStatus::Pruned), ..RunFilter::default() }).await;
    let stops = records.iter().filter(|r| r.ranking.decision == RungDecision::Stop).count();
    assert_eq!(pruned.unwrap().len(), stops);
}

async fn ties_and_late_arrivals_are_decided_through_the_store(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("asha", "").await.unwrap();
    let s = search(&exp, 2);
    // A value that text round trips could change: the store must give back these exact bits, or
    // the tie below would be broken by rounding instead of by configuration hash.
    let tied = 0.1 + 0.2;
    let mut records = Vec::new();
    for (hash, value) in [("b", tied), ("a", tied), ("c", tied), ("d", 0.05)] {
        let lease = run_at(&store, &s, hash, 1, value).await;
        records.push(store.decide_rung(&lease, &s, 0).await.unwrap());
    }
    assert!(records.iter().take(3).all(|r| r.value == Some(tied)), "{records:?}");
    use RungDecision::{Continue, Stop};
    let decisions: Vec<(&str, u32, u32, u32, RungDecision)> = records
        .iter()
        .map(|r| {
            (r.config_hash.as_str(), r.ranking.rank, r.ranking.recorded, r.ranking.quota, r.ranking.decision)
        })
        .collect();
    assert_eq!(
        decisions,
        [
            // Alone: continues.
            ("b", 1, 1, 1, Continue),
            // Tied with b, ahead of it by hash: the one of two that continues.
            ("a", 1, 2, 1, Continue),
            // Tied with both, last by hash: stops.
            ("c", 3, 3, 1, Stop),
            // A late arrival better than every earlier one: first of four, quota 2.
            ("d", 1, 4, 2, Continue),
        ]
    );
}

async fn membership_follows_the_latest_sweep_and_skips_reruns(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("asha", "").await.unwrap();
    let s = search(&exp, 3);
    let lease = run_at(&store, &s, "a", 1, 0.5).await;
    // The same file swept as a grid now: its configurations leave the search.
    store.join_search(&exp, None, &["a".to_owned()]).await.unwrap();
    assert_eq!(store.search_of(&lease.run_id).await.unwrap(), None);
    // And joined again (the same search: the id names the settings).
    store.join_search(&exp, Some(&s), &["a".to_owned()]).await.unwrap();
    store.join_search(&exp, Some(&s), &["a".to_owned()]).await.unwrap();
    assert_eq!(store.search_of(&lease.run_id).await.unwrap(), Some(s.clone()));
    // A longer search under the same id continues it with the new length.
    let mut longer = s.clone();
    longer.asha.max_epochs = 27;
    store.join_search(&exp, Some(&longer), &["a".to_owned()]).await.unwrap();
    assert_eq!(store.search_of(&lease.run_id).await.unwrap(), Some(longer.clone()));
    store.join_search(&exp, Some(&s), &["a".to_owned()]).await.unwrap();
    // Another experiment's run of the same configuration is not in this search.
    let other = store.record_experiment("other", "").await.unwrap();
    let mut run = new_run(&other, "a", 2, 9);
    run.rerun_of = Some(lease.run_id.clone());
    store.finish_run(&lease, RunStatus::Finished, None).await.unwrap();
    let rerun = start_rerun(&store, &run, &worker(9)).await.unwrap();
    assert_eq!(store.search_of(&rerun.run_id).await.unwrap(), None);
    // A rerun in the same experiment is not either: it checks a run, it does not compete.
    store.finish_run(&rerun, RunStatus::Finished, None).await.unwrap();
    let mut same = new_run(&exp, "a", 2, 9);
    same.rerun_of = Some(lease.run_id.clone());
    let rerun = start_rerun(&store, &same, &worker(9)).await.unwrap();
    assert_eq!(store.search_of(&rerun.run_id).await.unwrap(), None);
}

on_both_engines!(
    decisions_follow_the_rule_and_a_stop_prunes_the_run,
    a_pruned_configuration_is_never_trained_again,
    a_restarted_worker_reads_its_decision_instead_of_deciding_again,
    concurrent_deciders_of_one_search_are_serialised,
    ties_and_late_arrivals_are_decided_through_the_store,
    membership_follows_the_latest_sweep_and_skips_reruns,
);
