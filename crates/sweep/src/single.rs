//! `pixelcnn train` in the store: one run outside any sweep, recorded as a sweep's worker records
//! its run (an attempt of its configuration under an experiment, provenance, every epoch and
//! picture in one transaction each, heartbeats, its end state), so that ad-hoc runs appear in
//! `runs`, reports and `serve` beside swept ones.

use pixelcnn_record::EpochMetrics;
use pixelcnn_store::{NewRun, Store, StoreError, Worker};
use pixelcnn_train::{Both, RunObserver, Trainer};

use crate::error::{Result, SweepError};
use crate::git::GitState;
use crate::heartbeat::{HEARTBEAT_EVERY, Heartbeat};
use crate::recorder::StoreRecorder;
use crate::register::new_attempt;
use crate::worker::{end_state, host_name, stop_flags};

/// Where and under what a single run is recorded.
#[derive(Debug, Clone)]
pub struct SingleRun {
    /// Store URL.
    pub db: String,
    /// Experiment the run is filed under (created when new).
    pub experiment: String,
    /// Tags of the run.
    pub tags: Vec<String>,
    /// Note of the run.
    pub note: Option<String>,
    /// Tool versions of this process (`versions` of the run, with git state and data checksums
    /// added).
    pub versions: serde_json::Value,
}

/// Trains `trainer`'s run (its configuration identified by `hash`, its data by `data`'s
/// checksums) as a new attempt in the store, with `console` observing it too. Ctrl-C or SIGTERM
/// stops it `interrupted` at the next step; a training error ends it `failed` with the error.
/// Returns the run's id, and its epochs or what stopped it.
pub fn train_recorded(
    options: &SingleRun,
    trainer: Trainer,
    hash: &str,
    data: &[(String, String)],
    console: &mut dyn RunObserver,
) -> Result<(String, Result<Vec<EpochMetrics>>)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let store = rt.block_on(Store::open(&options.db))?;
    let description = "runs trained one at a time by `pixelcnn train`";
    let experiment_id = rt.block_on(store.record_experiment(&options.experiment, description))?;
    let git = GitState::current();
    let run = NewRun {
        tags: options.tags.clone(),
        note: options.note.clone(),
        ..new_attempt(&experiment_id, trainer.config(), hash.to_owned(), &options.versions, &git, data)
    };
    let id = rt.block_on(store.create_run(&run))?;
    tracing::info!("run {id}: recorded in {} under experiment {:?}", store.location(), options.experiment);
    let worker = Worker { pid: std::process::id(), host: host_name(), device: None, threads: None };
    let Some(lease) = rt.block_on(store.claim(&id, &worker))? else {
        return Err(StoreError::Invalid {
            db: store.location().into(),
            message: format!("run {id} could not be claimed"),
        }
        .into());
    };
    let flags = stop_flags(false)?;
    let heartbeat = Heartbeat::start(&options.db, lease.clone(), HEARTBEAT_EVERY, flags.clone())?;
    let recorder = StoreRecorder { rt: &rt, store: &store, lease: &lease, flags: flags.clone() };
    let outcome = trainer.run(&mut Both(console, recorder)).map_err(SweepError::from);
    drop(heartbeat);
    if flags.is_lost() {
        return Err(SweepError::LeaseLost { run: id });
    }
    let (status, error) = end_state(&outcome);
    rt.block_on(store.finish_run(&lease, status, error.as_deref()))?;
    rt.block_on(store.close());
    Ok((id, outcome))
}
