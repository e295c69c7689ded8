//! Run ownership: only the holder of a run's current lease writes into it. A worker whose run was
//! taken over (its heartbeat went stale), ended, or that holds a wrong token is refused on every
//! write, and the refused write changes nothing; the current holder's writes go through.

mod common;

use std::time::Duration;

use common::{
    Claim, ClaimRequest, LATER, STALE_AFTER, TestDb, claim_config, claimed_run, epoch_artefacts, epoch_row,
    new_run, start_rerun, worker,
};
use pixelcnn_record::{ArtefactKind, EpochMetrics, RunStatus};
use pixelcnn_store::{
    Artefact, ArtefactContent, ClaimKind, Clock, Lease, NewArtefact, RunDetail, Store, StoreError,
};

/// Everything a worker's write could change about one run.
#[derive(Debug, PartialEq)]
struct Snapshot {
    run: RunDetail,
    epochs: Vec<EpochMetrics>,
    /// Each artefact with its bytes (pictures).
    artefacts: Vec<(Artefact, Option<Vec<u8>>)>,
}

async fn snapshot(store: &Store, run_id: &str) -> Snapshot {
    let run = store.run(run_id).await.unwrap();
    let epochs = store.epochs(run_id).await.unwrap();
    let mut artefacts = Vec::new();
    for artefact in store.artefacts(run_id).await.unwrap() {
        let data = store.artefact_data(&artefact.id).await.unwrap();
        artefacts.push((artefact, data));
    }
    Snapshot { run, epochs, artefacts }
}

/// A picture named `name` for an epoch, drawn outside the epoch's transaction.
fn picture(name: &str, byte: u8) -> NewArtefact {
    NewArtefact {
        kind: ArtefactKind::Samples,
        name: name.into(),
        media_type: "image/png".into(),
        content: ArtefactContent::Blob(vec![0x89, b'P', b'N', b'G', byte]),
    }
}

/// How a refused write fails.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Refusal {
    /// The run exists, the lease is not its current one.
    LeaseLost,
    /// No such run.
    RunNotFound,
}

fn check<T: std::fmt::Debug>(what: &str, result: Result<T, StoreError>, expected: Refusal, lease: &Lease) {
    match (&result, expected) {
        (Err(StoreError::LeaseLost { run_id, .. }), Refusal::LeaseLost) => {
            assert_eq!(run_id, &lease.run_id, "{what}: the error names the run");
            let message = result.unwrap_err().to_string();
            assert!(message.contains(&lease.run_id), "{what}: {message}");
        }
        (Err(StoreError::RunNotFound { prefix, .. }), Refusal::RunNotFound) => {
            assert_eq!(prefix, &lease.run_id, "{what}: the error names the run");
        }
        _ => panic!("{what} with {lease:?}: expected {expected:?}, got {result:?}"),
    }
}

/// Tries every write a worker makes with `lease`, asserts that each one is refused with `expected`
/// and that none of them changed any of the runs in `watch`.
async fn assert_refused(store: &Store, lease: &Lease, expected: Refusal, watch: &[&str]) {
    let mut before = Vec::new();
    for run_id in watch {
        before.push(snapshot(store, run_id).await);
    }

    assert!(!store.heartbeat(lease).await.unwrap(), "heartbeat with {lease:?} must say stop");
    check("renew", store.renew(lease).await, expected, lease);
    check(
        "record_epoch (new epoch)",
        store.record_epoch(lease, &epoch_row(7), &epoch_artefacts(7)).await,
        expected,
        lease,
    );
    let mut over = epoch_row(1);
    over.test_nll = 123.0;
    over.seconds = 99.0;
    let mut over_artefacts = epoch_artefacts(1);
    over_artefacts[0].content = ArtefactContent::Blob(b"stale".to_vec());
    check(
        "record_epoch (over epoch 1)",
        store.record_epoch(lease, &over, &over_artefacts).await,
        expected,
        lease,
    );
    check(
        "add_artefact (new)",
        store.add_artefact(lease, 1, &picture("stale.png", 0xee)).await,
        expected,
        lease,
    );
    check(
        "add_artefact (replacing)",
        store.add_artefact(lease, 1, &over_artefacts[1]).await,
        expected,
        lease,
    );
    check("set_worker", store.set_worker(lease, &worker(999)).await, expected, lease);
    for status in [RunStatus::Finished, RunStatus::Failed, RunStatus::Interrupted] {
        check(
            &format!("finish_run {status}"),
            store.finish_run(lease, status, Some("a stale worker")).await,
            expected,
            lease,
        );
    }

    for (run_id, before) in watch.iter().zip(before) {
        assert_eq!(
            snapshot(store, run_id).await,
            before,
            "refused writes with {lease:?} changed run {run_id}"
        );
    }
}

/// Asserts that every write with `lease` goes through: a heartbeat, the worker's pid, an epoch
/// with its artefacts and a picture of its own. Leaves the run running.
async fn assert_works(store: &Store, lease: &Lease, epoch: u32, pid: u32) {
    let run_id = lease.run_id.as_str();
    let before = store.run(run_id).await.unwrap();
    // Stored stamps have microseconds: make sure the beat below is later than the last one.
    tokio::time::sleep(Duration::from_millis(2)).await;
    assert!(store.heartbeat(lease).await.unwrap(), "the current lease beats");
    store.renew(lease).await.unwrap();
    let beaten = store.run(run_id).await.unwrap();
    assert!(
        beaten.heartbeat_at > before.heartbeat_at,
        "{:?} !> {:?}",
        beaten.heartbeat_at,
        before.heartbeat_at
    );
    store.set_worker(lease, &worker(pid)).await.unwrap();
    assert_eq!(store.run(run_id).await.unwrap().worker_pid, Some(pid));
    store.record_epoch(lease, &epoch_row(epoch), &epoch_artefacts(epoch)).await.unwrap();
    assert!(store.epochs(run_id).await.unwrap().contains(&epoch_row(epoch)));
    let id = store.add_artefact(lease, epoch, &picture("late.png", epoch as u8)).await.unwrap();
    assert_eq!(store.artefact_data(&id).await.unwrap(), Some(vec![0x89, b'P', b'N', b'G', epoch as u8]));
    let run = store.run(run_id).await.unwrap();
    assert_eq!((run.status, run.last_epoch), (RunStatus::Running, Some(epoch)));
}

fn request(exp: &str, hash: &str, epochs: u32, pid: u32, stale_after: Option<Duration>) -> ClaimRequest {
    ClaimRequest { run: new_run(exp, hash, 2, epochs), worker: worker(pid), retry_failed: false, stale_after }
}

async fn a_stale_takeover_by_claim_config_locks_the_old_holder_out(db: TestDb) {
    let clock = Clock::default();
    let store = db.open_at(&clock).await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let Claim::Claimed { run_id, lease: old, kind: ClaimKind::Queued, .. } =
        claim_config(&store, &request(&exp, "h", 3, 7, None)).await.unwrap()
    else {
        panic!("a new configuration is claimed")
    };
    store.record_epoch(&old, &epoch_row(1), &epoch_artefacts(1)).await.unwrap();

    // The holder freezes; its heartbeat goes stale and another worker takes the run over.
    clock.advance(LATER);
    let stale = request(&exp, "h", 3, 8, Some(STALE_AFTER));
    let Claim::Claimed { run_id: taken, lease: new, from_epoch: 1, kind: ClaimKind::Resume } =
        claim_config(&store, &stale).await.unwrap()
    else {
        panic!("a stale running attempt is taken over")
    };
    assert_eq!((&taken, &new.run_id), (&run_id, &run_id));
    assert_ne!(new.token, old.token, "a takeover draws a new token");
    let run = store.run(&run_id).await.unwrap();
    assert_eq!((run.status, run.worker_pid), (RunStatus::Running, Some(8)));

    // The frozen worker wakes up: everything it tries is refused and changes nothing.
    assert_refused(&store, &old, Refusal::LeaseLost, &[&run_id]).await;
    assert_eq!(store.epochs(&run_id).await.unwrap(), [epoch_row(1)]);
    assert_eq!(store.run(&run_id).await.unwrap().worker_pid, Some(8), "the new holder stays");

    // The new holder writes as usual, and its end status stands against the old one.
    assert_works(&store, &new, 2, 81).await;
    store.finish_run(&new, RunStatus::Finished, None).await.unwrap();
    assert_refused(&store, &old, Refusal::LeaseLost, &[&run_id]).await;
    let done = store.run(&run_id).await.unwrap();
    assert_eq!((done.status, done.error, done.last_epoch), (RunStatus::Finished, None, Some(2)));
}

async fn an_interrupted_run_claimed_again_refuses_its_old_holder(db: TestDb) {
    let clock = Clock::default();
    let store = db.open_at(&clock).await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let old = claimed_run(&store, &exp, "h", 3, 1).await;
    let run_id = old.run_id.clone();
    store.record_epoch(&old, &epoch_row(1), &epoch_artefacts(1)).await.unwrap();

    clock.advance(LATER);
    let stale = store.mark_stale_running_as_interrupted(STALE_AFTER).await.unwrap();
    assert_eq!(stale, [run_id.as_str()]);
    // Declared interrupted, not yet claimed: the old holder cannot write, nor end the run as
    // finished (the next sweep must resume it).
    assert_refused(&store, &old, Refusal::LeaseLost, &[&run_id]).await;
    assert_eq!(store.run(&run_id).await.unwrap().status, RunStatus::Interrupted);

    let new = store.claim(&run_id, &worker(2)).await.unwrap().expect("an interrupted run is claimable");
    assert_eq!(new.run_id, run_id);
    assert_ne!(new.token, old.token, "a new claim draws a new token");
    // The run is running again, but under another token: the old holder is still refused.
    assert_refused(&store, &old, Refusal::LeaseLost, &[&run_id]).await;
    assert_eq!(store.run(&run_id).await.unwrap().worker_pid, Some(2));

    assert_works(&store, &new, 2, 21).await;
    store.finish_run(&new, RunStatus::Finished, None).await.unwrap();
    assert_eq!(store.run(&run_id).await.unwrap().status, RunStatus::Finished);
}

async fn an_ended_run_s_lease_is_dead(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    for (hash, status) in
        [("f", RunStatus::Finished), ("x", RunStatus::Failed), ("i", RunStatus::Interrupted)]
    {
        let lease = claimed_run(&store, &exp, hash, 1, 1).await;
        let run_id = lease.run_id.clone();
        store.record_epoch(&lease, &epoch_row(1), &epoch_artefacts(1)).await.unwrap();
        let error = (status != RunStatus::Finished).then_some("the worker's own reason");
        store.finish_run(&lease, status, error).await.unwrap();
        let ended = store.run(&run_id).await.unwrap();
        assert_eq!((ended.status, ended.error.as_deref()), (status, error));

        // Ending the run ended the lease; the recorded end status stands.
        assert!(!store.heartbeat(&lease).await.unwrap(), "{status}: the worker must stop");
        assert_refused(&store, &lease, Refusal::LeaseLost, &[&run_id]).await;

        // Taking the run up again draws another lease; the ended one stays dead.
        let again = match status {
            RunStatus::Finished => {
                let Claim::Claimed { lease, kind: ClaimKind::Resume, from_epoch: 1, .. } =
                    claim_config(&store, &request(&exp, hash, 2, 3, None)).await.unwrap()
                else {
                    panic!("a finished run asked for more epochs is extended")
                };
                Some(lease)
            }
            RunStatus::Interrupted => store.claim(&run_id, &worker(3)).await.unwrap(),
            _ => {
                assert_eq!(
                    store.claim(&run_id, &worker(3)).await.unwrap(),
                    None,
                    "a failed run is not claimable"
                );
                None
            }
        };
        if let Some(again) = again {
            assert_eq!(again.run_id, run_id);
            assert_ne!(again.token, lease.token);
            assert_refused(&store, &lease, Refusal::LeaseLost, &[&run_id]).await;
            assert_works(&store, &again, 2, 31).await;
        }
    }
}

async fn a_wrong_token_on_a_running_run_is_refused(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let a = claimed_run(&store, &exp, "a", 3, 1).await;
    let b = claimed_run(&store, &exp, "b", 3, 2).await;
    for lease in [&a, &b] {
        store.record_epoch(lease, &epoch_row(1), &epoch_artefacts(1)).await.unwrap();
    }
    let watch = [a.run_id.as_str(), b.run_id.as_str()];
    let wrong = [
        Lease::new(a.run_id.clone(), "not-the-token"),
        Lease::new(a.run_id.clone(), ""),
        // Tokens are compared exactly.
        Lease::new(a.run_id.clone(), a.token.to_uppercase()),
        Lease::new(a.run_id.clone(), format!("{} ", a.token)),
        // The current token of another run is no key to this one, in either direction.
        Lease::new(a.run_id.clone(), b.token.clone()),
        Lease::new(b.run_id.clone(), a.token.clone()),
    ];
    for lease in &wrong {
        assert_refused(&store, lease, Refusal::LeaseLost, &watch).await;
    }
    // The right leases still work.
    assert_works(&store, &a, 2, 11).await;
    assert_works(&store, &b, 2, 12).await;

    // A queued run has no lease at all: it must be claimed before epochs are recorded.
    let queued = store.create_run(&new_run(&exp, "q", 2, 3)).await.unwrap();
    for token in ["", "guess", a.token.as_str()] {
        assert_refused(&store, &Lease::new(queued.clone(), token), Refusal::LeaseLost, &[&queued]).await;
    }
    assert_eq!(store.run(&queued).await.unwrap().status, RunStatus::Queued);
    assert_eq!(store.epochs(&queued).await.unwrap(), []);
    let claimed = store.claim(&queued, &worker(4)).await.unwrap().expect("claimable");
    assert_works(&store, &claimed, 1, 41).await;
}

async fn an_unknown_run_is_not_found(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let a = claimed_run(&store, &exp, "a", 3, 1).await;
    store.record_epoch(&a, &epoch_row(1), &epoch_artefacts(1)).await.unwrap();

    for lease in
        [Lease::new("no-such-run", a.token.clone()), Lease::new(uuid::Uuid::new_v4().to_string(), "t")]
    {
        assert_refused(&store, &lease, Refusal::RunNotFound, &[&a.run_id]).await;
        assert_eq!(store.epochs(&lease.run_id).await.unwrap(), [], "nothing is written for an unknown run");
        assert_eq!(store.artefacts(&lease.run_id).await.unwrap(), []);
    }

    // A run removed while its worker still holds the lease.
    let b = claimed_run(&store, &exp, "b", 3, 2).await;
    store.delete_run(&b.run_id).await.unwrap();
    assert_refused(&store, &b, Refusal::RunNotFound, &[&a.run_id]).await;
    assert_eq!(store.epochs(&b.run_id).await.unwrap(), []);
    assert_eq!(store.artefacts(&b.run_id).await.unwrap(), []);
    assert!(matches!(store.run(&b.run_id).await, Err(StoreError::RunNotFound { .. })), "not recreated");
}

async fn the_rerun_lease_works_and_a_random_token_does_not(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("levels", "").await.unwrap();
    let original = claimed_run(&store, &exp, "h", 1, 1).await;
    store.record_epoch(&original, &epoch_row(1), &epoch_artefacts(1)).await.unwrap();
    store.finish_run(&original, RunStatus::Finished, None).await.unwrap();

    let rerun =
        pixelcnn_store::NewRun { rerun_of: Some(original.run_id.clone()), ..new_run(&exp, "h", 2, 1) };
    let lease = start_rerun(&store, &rerun, &worker(5)).await.unwrap();
    assert_ne!(lease.run_id, original.run_id);
    assert_ne!(lease.token, original.token);
    let started = store.run(&lease.run_id).await.unwrap();
    assert_eq!(
        (started.status, started.run.rerun_of.as_deref(), started.worker_pid),
        (RunStatus::Running, Some(original.run_id.as_str()), Some(5))
    );

    let watch = [lease.run_id.as_str(), original.run_id.as_str()];
    for wrong in [
        Lease::new(lease.run_id.clone(), uuid::Uuid::new_v4().to_string()),
        // The original's (dead) token opens neither the rerun nor the original.
        Lease::new(lease.run_id.clone(), original.token.clone()),
        original.clone(),
        // The rerun's token is no key to the original.
        Lease::new(original.run_id.clone(), lease.token.clone()),
    ] {
        assert_refused(&store, &wrong, Refusal::LeaseLost, &watch).await;
    }

    assert_works(&store, &lease, 1, 51).await;
    store.finish_run(&lease, RunStatus::Finished, None).await.unwrap();
    assert_eq!(store.run(&lease.run_id).await.unwrap().status, RunStatus::Finished);
    assert_refused(&store, &lease, Refusal::LeaseLost, &watch).await;
}

on_both_engines!(
    a_stale_takeover_by_claim_config_locks_the_old_holder_out,
    an_interrupted_run_claimed_again_refuses_its_old_holder,
    an_ended_run_s_lease_is_dead,
    a_wrong_token_on_a_running_run_is_refused,
    an_unknown_run_is_not_found,
    the_rerun_lease_works_and_a_random_token_does_not,
);
