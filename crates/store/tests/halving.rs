//! Synchronous rungs (SHA) on both engines: runs wait at a rung, paused and without a lease, until
//! every configuration has reported; then exactly the top 1/eta are queued again (the arrival that
//! completed the rung trains on) and the rest pruned, the same whatever the order of arrival, once
//! (a resumed run reads its decision), under concurrent arrivals, and past a failed configuration.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Claim, ClaimRequest, TestDb, claim_config, epoch_row, new_run, worker};
use pixelcnn_record::{Asha, Promotion, RunStatus, RungDecision, RungMetric};
use pixelcnn_store::{Arrival, ClaimKind, Lease, Search, SkipReason, Store};

/// A synchronous search of experiment `exp`: eta = 3, rungs at epochs 1 and 3 before 9.
fn search(exp: &str) -> Search {
    Search {
        id: format!("sha-{exp}"),
        experiment_id: exp.to_owned(),
        asha: Asha {
            metric: RungMetric::TestNll,
            reduction_factor: 3,
            grace_epochs: 1,
            max_epochs: 9,
            promotion: Promotion::Synchronous,
        },
    }
}

/// Registers configurations `hashes` in a new synchronous search of a new experiment `name`, then
/// creates and claims a run of each with epoch 1 recorded at test NLL `values[i]`.
async fn search_at_rung_0(
    store: &Store,
    name: &str,
    hashes: &[&str],
    values: &[f64],
) -> (Search, Vec<Lease>) {
    let exp = store.record_experiment(name, "").await.unwrap();
    let s = search(&exp);
    let all: Vec<String> = hashes.iter().map(|h| (*h).to_owned()).collect();
    store.join_search(&exp, Some(&s), &all).await.unwrap();
    let mut leases = Vec::new();
    for (hash, value) in hashes.iter().zip(values) {
        let id = store.create_run(&new_run(&exp, hash, 2, 9)).await.unwrap();
        let lease = store.claim(&id, &worker(1)).await.unwrap().unwrap();
        let mut row = epoch_row(1);
        row.test_nll = *value;
        store.record_epoch(&lease, &row, &[]).await.unwrap();
        leases.push(lease);
    }
    (s, leases)
}

/// Arrives with each lease in the order of `order`; the arrivals, by configuration.
async fn arrive(
    store: &Store,
    s: &Search,
    leases: &[Lease],
    hashes: &[&str],
    order: &[usize],
) -> Vec<Arrival> {
    let mut out = Vec::new();
    for &i in order {
        let arrival = store.arrive_at_rung(&leases[i], s, 0).await.unwrap();
        assert_eq!(
            store.run(&leases[i].run_id).await.unwrap().run.config_hash,
            hashes[i],
            "lease {i} is configuration {}",
            hashes[i]
        );
        out.push(arrival);
    }
    out
}

const HASHES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
const VALUES: [f64; 6] = [0.5, 0.4, 0.7, 0.2, 0.6, 0.3];

async fn a_rung_waits_for_every_configuration_then_keeps_exactly_the_top_third(db: TestDb) {
    let store = db.open().await;
    let (s, leases) = search_at_rung_0(&store, "sha", &HASHES, &VALUES).await;
    // The first five wait: paused, no lease, skipped by any sweep.
    let arrivals = arrive(&store, &s, &leases, &HASHES, &[0, 1, 2, 3, 4]).await;
    assert!(arrivals.iter().all(|a| *a == Arrival::Paused), "{arrivals:?}");
    let paused = store.run(&leases[3].run_id).await.unwrap();
    assert_eq!((paused.status, paused.ended_at), (RunStatus::Paused, None));
    assert!(!store.heartbeat(&leases[3]).await.unwrap(), "a paused run has no lease");
    let request = ClaimRequest {
        run: new_run(&s.experiment_id, "d", 2, 9),
        worker: worker(2),
        retry_failed: true,
        stale_after: Some(Duration::from_secs(60)),
    };
    assert!(matches!(
        claim_config(&store, &request).await.unwrap(),
        Claim::Skipped { reason: SkipReason::Paused, .. }
    ));
    assert!(store.experiment_rung_decisions("sha").await.unwrap().is_empty(), "nothing decided yet");

    // The sixth completes the rung: 6 / 3 = 2 continue, d (0.2) and f (0.3), f at once.
    let last = store.arrive_at_rung(&leases[5], &s, 0).await.unwrap();
    let Arrival::Continue(own) = last else { panic!("f is second best: {last:?}") };
    assert_eq!((own.ranking.rank, own.ranking.recorded, own.ranking.quota), (2, 6, 2));
    assert!(store.heartbeat(&leases[5]).await.unwrap(), "it trains on under its lease");
    let statuses: BTreeMap<String, RunStatus> = {
        let mut m = BTreeMap::new();
        for (hash, lease) in HASHES.iter().zip(&leases) {
            m.insert((*hash).to_owned(), store.run(&lease.run_id).await.unwrap().status);
        }
        m
    };
    use RunStatus::{Pruned, Queued, Running};
    let expected: BTreeMap<String, RunStatus> =
        [("a", Pruned), ("b", Pruned), ("c", Pruned), ("d", Queued), ("e", Pruned), ("f", Running)]
            .into_iter()
            .map(|(h, s)| (h.to_owned(), s))
            .collect();
    assert_eq!(statuses, expected);

    // The queued winner resumes from its checkpoint's epoch, and its arrival again reads the
    // decision (what a worker resumed after a kill -9 does).
    let Claim::Claimed { lease, from_epoch, kind, .. } = claim_config(&store, &request).await.unwrap() else {
        panic!("d is queued again")
    };
    assert_eq!((from_epoch, kind), (1, ClaimKind::Resume));
    let again = store.arrive_at_rung(&lease, &s, 0).await.unwrap();
    assert!(
        matches!(&again, Arrival::Continue(r) if r.config_hash == "d" && r.ranking.rank == 1),
        "{again:?}"
    );
    assert_eq!(store.experiment_rung_decisions("sha").await.unwrap().len(), 6, "decided once");

    // The same values arriving in another order decide the same (other configurations of the
    // same letters: a configuration has one active attempt in the whole store).
    let renamed = ["a2", "b2", "c2", "d2", "e2", "f2"];
    let (s2, leases2) = search_at_rung_0(&store, "sha-reversed", &renamed, &VALUES).await;
    arrive(&store, &s2, &leases2, &renamed, &[5, 4, 3, 2, 1, 0]).await;
    let by_config = |records: Vec<pixelcnn_store::RungRecord>| -> BTreeMap<String, (u32, RungDecision)> {
        records
            .into_iter()
            .map(|r| (r.config_hash[..1].to_owned(), (r.ranking.rank, r.ranking.decision)))
            .collect()
    };
    assert_eq!(
        by_config(store.experiment_rung_decisions("sha").await.unwrap()),
        by_config(store.experiment_rung_decisions("sha-reversed").await.unwrap())
    );
}

async fn concurrent_last_arrivals_decide_once(db: TestDb) {
    let store = db.open().await;
    let (s, leases) = search_at_rung_0(&store, "sha", &HASHES, &VALUES).await;
    arrive(&store, &s, &leases, &HASHES, &[0, 1, 2]).await;
    let tasks: Vec<_> = leases[3..]
        .iter()
        .cloned()
        .map(|lease| {
            let (url, s) = (db.url(), s.clone());
            tokio::spawn(async move {
                Store::open(&url).await.unwrap().arrive_at_rung(&lease, &s, 0).await.unwrap()
            })
        })
        .collect();
    let mut arrivals = Vec::new();
    for task in tasks {
        arrivals.push(task.await.unwrap());
    }
    // Exactly one of the three completed the rung; the decisions are those of any order.
    let decided = store.experiment_rung_decisions("sha").await.unwrap();
    assert_eq!(decided.len(), 6, "{decided:?}");
    let kept: Vec<&str> = decided
        .iter()
        .filter(|r| r.ranking.decision == RungDecision::Continue)
        .map(|r| r.config_hash.as_str())
        .collect();
    assert_eq!(kept.len(), 2);
    assert!(kept.contains(&"d") && kept.contains(&"f"), "{kept:?}");
    assert_eq!(arrivals.iter().filter(|a| **a == Arrival::Paused).count(), 2, "{arrivals:?}");
}

async fn a_failed_configuration_ranks_last_and_does_not_hold_the_rung(db: TestDb) {
    let store = db.open().await;
    let (s, leases) = search_at_rung_0(&store, "sha", &HASHES[..3], &VALUES[..3]).await;
    arrive(&store, &s, &leases, &HASHES, &[0, 2]).await;
    assert!(store.decide_waiting_rungs(&s).await.unwrap().is_empty(), "b is still running");
    store.finish_run(&leases[1], RunStatus::Failed, Some("diverged")).await.unwrap();
    let decided = store.decide_waiting_rungs(&s).await.unwrap();
    let summary: Vec<(&str, u32, RungDecision)> =
        decided.iter().map(|r| (r.config_hash.as_str(), r.ranking.rank, r.ranking.decision)).collect();
    // b's value (0.4) is the best, but it failed: its attempt counts as missing and ranks last.
    assert_eq!(
        summary,
        [("a", 1, RungDecision::Continue), ("b", 3, RungDecision::Stop), ("c", 2, RungDecision::Stop)]
    );
    assert_eq!(store.run(&leases[0].run_id).await.unwrap().status, RunStatus::Queued);
    assert_eq!(store.run(&leases[1].run_id).await.unwrap().status, RunStatus::Failed, "kept");
    assert_eq!(store.run(&leases[2].run_id).await.unwrap().status, RunStatus::Pruned);
    assert!(store.decide_waiting_rungs(&s).await.unwrap().is_empty(), "decided once");
}

on_both_engines!(
    a_rung_waits_for_every_configuration_then_keeps_exactly_the_top_third,
    concurrent_last_arrivals_decide_once,
    a_failed_configuration_ranks_last_and_does_not_hold_the_rung,
);
