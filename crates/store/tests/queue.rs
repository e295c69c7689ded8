//! The cluster queue on both engines: submissions queue only what needs training, tasks claim
//! whatever is next (queued first, then interrupted or stale), concurrent tasks never get the
//! same configuration, and the Slurm task of a run is shown with it.

mod common;

use std::time::Duration;

use common::{LATER, STALE_AFTER, TestDb, claimed_run, epoch_row, new_run, worker};
use pixelcnn_record::RunStatus;
use pixelcnn_store::{ClaimKind, Clock, Enqueued, RunFilter, SkipReason, SlurmTask, Store};

const STALE: Duration = Duration::from_secs(60);

/// A submission's configurations.
fn configs(hashes: &[&str]) -> Vec<String> {
    hashes.iter().map(|h| (*h).to_owned()).collect()
}

async fn enqueued_and_claimed_once(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("queue", "").await.unwrap();
    let first = store.enqueue_config(&new_run(&exp, "a", 2, 2), false, Some(STALE)).await.unwrap();
    let Enqueued::New { run_id: a } = first else { panic!("{first:?}") };
    // A second submission before any task ran: still the same queued attempt.
    let again = store.enqueue_config(&new_run(&exp, "a", 2, 2), false, Some(STALE)).await.unwrap();
    assert_eq!(again, Enqueued::AlreadyQueued { run_id: a.clone() });
    store.enqueue_config(&new_run(&exp, "b", 2, 2), false, Some(STALE)).await.unwrap();

    let taken =
        store.claim_next(&configs(&["a", "b"]), &worker(1), STALE).await.unwrap().expect("a is queued");
    assert_eq!(
        (taken.lease.run_id.as_str(), taken.from_epoch, taken.kind),
        (a.as_str(), 0, ClaimKind::Queued)
    );
    let task = SlurmTask { job_id: "107".into(), array_job_id: Some("100".into()), array_task_id: Some(7) };
    store.set_slurm_task(&taken.lease, &task).await.unwrap();
    store.record_epoch(&taken.lease, &epoch_row(1), &[]).await.unwrap();
    store.record_epoch(&taken.lease, &epoch_row(2), &[]).await.unwrap();
    store.finish_run(&taken.lease, RunStatus::Finished, None).await.unwrap();
    let shown = store.run(&a).await.unwrap();
    assert_eq!(shown.slurm.as_ref().map(ToString::to_string).as_deref(), Some("100_7"));
    let listed = store.list_runs(&RunFilter::default()).await.unwrap();
    assert_eq!(listed.iter().find(|r| r.id == a).unwrap().slurm, Some(task));

    let b = store.claim_next(&configs(&["a", "b"]), &worker(2), STALE).await.unwrap().expect("b is queued");
    assert_ne!(b.lease.run_id, a);
    assert!(
        store.claim_next(&configs(&["a", "b"]), &worker(3), STALE).await.unwrap().is_none(),
        "nothing left"
    );
    // Finished: a new submission queues nothing; with more epochs it queues the extension.
    let done = store.enqueue_config(&new_run(&exp, "a", 2, 2), false, Some(STALE)).await.unwrap();
    assert_eq!(done, Enqueued::Skipped { run_id: a.clone(), reason: SkipReason::Finished });
    assert!(!done.needs_a_task());
    let longer = store.enqueue_config(&new_run(&exp, "a", 2, 3), false, Some(STALE)).await.unwrap();
    assert_eq!(longer, Enqueued::Requeued { run_id: a.clone(), from_epoch: 2 });
    let extended = store.claim_next(&configs(&["a"]), &worker(4), STALE).await.unwrap().unwrap();
    assert_eq!((extended.lease.run_id, extended.from_epoch), (a, 2));
}

async fn a_dead_task_s_run_returns_to_the_queue(db: TestDb) {
    let clock = Clock::default();
    let store = db.open_at(&clock).await;
    let exp = store.record_experiment("queue", "").await.unwrap();
    store.enqueue_config(&new_run(&exp, "a", 2, 3), false, Some(STALE)).await.unwrap();
    let first = store.claim_next(&configs(&["a"]), &worker(1), STALE).await.unwrap().unwrap();
    store.record_epoch(&first.lease, &epoch_row(1), &[]).await.unwrap();
    // Its heartbeat is fresh: nobody else takes it.
    assert!(store.claim_next(&configs(&["a"]), &worker(2), STALE).await.unwrap().is_none());
    // The task was killed without a word: once the heartbeat is stale, the next task resumes it.
    clock.advance(LATER);
    let second = store.claim_next(&configs(&["a"]), &worker(2), STALE_AFTER).await.unwrap().unwrap();
    assert_eq!(
        (second.lease.run_id.as_str(), second.from_epoch, second.kind),
        (first.lease.run_id.as_str(), 1, ClaimKind::Resume)
    );
    assert!(!store.heartbeat(&first.lease).await.unwrap(), "the dead task's lease is gone");
    // Interrupted (a requeue after SIGUSR2, or scancel's SIGTERM): the next claim resumes it.
    store.finish_run(&second.lease, RunStatus::Interrupted, None).await.unwrap();
    let third = store.claim_next(&configs(&["a"]), &worker(3), STALE).await.unwrap().unwrap();
    assert_eq!((third.from_epoch, third.kind), (1, ClaimKind::Resume));
    // A resubmission while it runs changes nothing.
    let again = store.enqueue_config(&new_run(&exp, "a", 2, 3), false, Some(STALE)).await.unwrap();
    assert!(matches!(again, Enqueued::Skipped { reason: SkipReason::RunningElsewhere, .. }), "{again:?}");
}

async fn concurrent_tasks_take_different_configurations(db: TestDb) {
    let store = db.open().await;
    let exp = store.record_experiment("queue", "").await.unwrap();
    for i in 0..6 {
        store.enqueue_config(&new_run(&exp, &format!("c{i}"), 2, 1), false, Some(STALE)).await.unwrap();
    }
    let all: Vec<String> = (0..6).map(|i| format!("c{i}")).collect();
    let tasks: Vec<_> = (0..8u32)
        .map(|i| {
            let (url, all) = (db.url(), all.clone());
            tokio::spawn(async move {
                let store = Store::open(&url).await.unwrap();
                store.claim_next(&all, &worker(10 + i), STALE).await.unwrap().map(|t| t.lease.run_id)
            })
        })
        .collect();
    let mut taken = Vec::new();
    for task in tasks {
        taken.extend(task.await.unwrap());
    }
    taken.sort();
    let before = taken.len();
    taken.dedup();
    assert_eq!((before, taken.len()), (6, 6), "six configurations, each taken once");
}

/// Tasks claim what their submission queued, whichever experiment first trained it: a
/// configuration experiment "other" finished is extended in its own attempt when this experiment
/// asks for more epochs, and configurations the submission did not queue are left alone.
async fn tasks_claim_their_submission_s_configurations(db: TestDb) {
    let store = db.open().await;
    let other = store.record_experiment("other", "").await.unwrap();
    let lease = claimed_run(&store, &other, "shared", 2, 1).await;
    store.record_epoch(&lease, &epoch_row(1), &[]).await.unwrap();
    store.finish_run(&lease, RunStatus::Finished, None).await.unwrap();
    store.enqueue_config(&new_run(&other, "not-ours", 2, 1), false, Some(STALE)).await.unwrap();

    let exp = store.record_experiment("queue", "").await.unwrap();
    let longer = store.enqueue_config(&new_run(&exp, "shared", 2, 3), false, Some(STALE)).await.unwrap();
    assert_eq!(longer, Enqueued::Requeued { run_id: lease.run_id.clone(), from_epoch: 1 });
    let taken = store.claim_next(&configs(&["shared"]), &worker(2), STALE).await.unwrap().expect("shared");
    assert_eq!((taken.lease.run_id, taken.from_epoch, taken.kind), (lease.run_id, 1, ClaimKind::Resume));
    assert!(store.claim_next(&configs(&["shared"]), &worker(3), STALE).await.unwrap().is_none());
    assert!(store.claim_next(&[], &worker(3), STALE).await.unwrap().is_none(), "an empty submission");
}

on_both_engines!(
    tasks_claim_their_submission_s_configurations,
    enqueued_and_claimed_once,
    a_dead_task_s_run_returns_to_the_queue,
    concurrent_tasks_take_different_configurations,
);
