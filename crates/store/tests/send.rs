//! Every future the store returns is `Send`, so schedulers can drive it from `tokio::spawn`.
//! This file only has to compile; the test body never runs the futures.

use std::time::Duration;

use pixelcnn_record::{EpochMetrics, RunStatus};
use pixelcnn_store::{Lease, NewArtefact, NewRun, NewSweep, RunFilter, Store, Worker};

fn send<T: Send>(_: T) {}

#[allow(dead_code, clippy::too_many_arguments)]
fn all_futures_are_send(
    s: &Store,
    run: &NewRun,
    sweep: &NewSweep,
    w: &Worker,
    row: &EpochMetrics,
    artefacts: &[NewArtefact],
    configs: &[String],
    filter: &RunFilter,
    lease: &Lease,
) {
    send(Store::open("sqlite://x.db"));
    send(s.record_experiment("e", ""));
    send(s.record_sweep(sweep));
    send(s.sweep("id"));
    send(s.experiments());
    send(s.create_run(run));
    send(s.claim("id", w));
    send(s.enqueue_config(run, false, None));
    send(s.claim_next(configs, w, Duration::from_secs(1)));
    send(s.claimable(configs, Duration::from_secs(1)));
    send(s.latest_attempt("h"));
    send(s.set_worker(lease, w));
    send(s.heartbeat(lease));
    send(s.renew(lease));
    send(s.mark_stale_running_as_interrupted(Duration::from_secs(1)));
    send(s.finish_run(lease, RunStatus::Finished, None));
    send(s.delete_run("id"));
    send(s.delete_experiment("name"));
    send(s.edit_tags("id", &[], &[]));
    send(s.set_note("id", None));
    send(s.record_epoch(lease, row, artefacts));
    send(s.last_epoch("id"));
    send(s.epochs("id"));
    send(s.add_artefact(lease, 1, &artefacts[0]));
    send(s.artefacts("id"));
    send(s.artefact_data("id"));
    send(s.mark_artefact_deleted("id"));
    send(s.gc_candidates());
    send(s.list_runs(filter));
    send(s.run("id"));
    send(s.metrics(filter));
    send(s.verdicts("id"));
    send(s.integrity_check());
    send(s.settings());
    send(s.close());
}

#[test]
fn compiles() {}
