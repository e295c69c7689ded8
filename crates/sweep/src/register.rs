//! What a sweep records before anything runs: the experiment and sweep rows, one [`NewRun`] per
//! planned configuration with its identity (`config_hash`) and provenance, the search the
//! configurations take part in (so that every worker finds its rung rules in the store), and the
//! queue its workers claim from ([`enqueue`]), locally or on a cluster alike.

use pixelcnn_config::{Experiment, RunConfig, config_hash};
use pixelcnn_record::Promotion;
use pixelcnn_store::{Enqueued, NewRun, NewSweep, Search, SkipReason, Store};
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::git::GitState;
use crate::options::SweepOptions;
use pixelcnn_train::preflight::{self, DataChecksums};

/// What a sweep has recorded and goes on to claim.
pub(crate) struct Registered {
    /// The runs to claim: in plan order, or, for a search, in its claim order ([`claim_order`]).
    pub(crate) runs: Vec<NewRun>,
    /// The search they take part in, if any.
    pub(crate) search: Option<Search>,
}

/// Records the experiment, this sweep and its search, and returns what to claim. `checksums` are
/// preflight's, by data folder.
pub(crate) async fn register(
    store: &Store,
    experiment: &Experiment,
    options: &SweepOptions,
    checksums: &DataChecksums,
) -> Result<Registered> {
    let experiment_id =
        store.record_experiment(&experiment.name, experiment.description.as_deref().unwrap_or("")).await?;
    let sweep_id = store
        .record_sweep(&NewSweep {
            experiment_id: experiment_id.clone(),
            file: experiment.file.display().to_string(),
            file_hash: experiment.file_hash.clone(),
            profile: experiment.profile.clone(),
            overrides: serde_json::json!(options.overrides),
            tag: options.tags.first().cloned(),
            note: options.note.clone(),
        })
        .await?;
    let git = GitState::current();
    let mut runs: Vec<NewRun> = experiment
        .runs
        .iter()
        .map(|run| {
            let data = &checksums[&preflight::data_dir(&run.config)];
            NewRun {
                sweep_id: Some(sweep_id.clone()),
                varying: serde_json::to_value(&run.varying).expect("TOML values convert to JSON"),
                tags: options.tags.clone(),
                note: options.note.clone(),
                ..new_attempt(
                    &experiment_id,
                    &run.config,
                    config_hash(&run.config, data),
                    &options.versions,
                    &git,
                    data,
                )
            }
        })
        .collect();
    // Before any claim: a worker started from here on reads its run's search from the store.
    let search = search(experiment, &experiment_id, checksums);
    if let Some(s) = &search {
        claim_order(&mut runs, &s.id);
        let strategy = match s.asha.promotion {
            Promotion::Asynchronous => "ASHA",
            Promotion::Synchronous => "SHA",
        };
        tracing::info!(
            "{strategy} search {}: rungs at epochs {:?} of {}; configurations claimed in the search's \
             seeded order: {}",
            &s.id[..12],
            s.asha.rungs(),
            s.asha.max_epochs,
            runs.iter().map(|r| &r.config_hash[..8.min(r.config_hash.len())]).collect::<Vec<_>>().join(" ")
        );
    }
    let hashes: Vec<String> = runs.iter().map(|r| r.config_hash.clone()).collect();
    store.join_search(&experiment_id, search.as_ref(), &hashes).await?;
    Ok(Registered { runs, search })
}

/// What [`enqueue`] did with a sweep's configurations.
pub(crate) struct Queue {
    /// The configurations (hashes) queued now or already queued, in claim order.
    pub(crate) queued: Vec<String>,
    /// Configurations paused at a rung of their synchronous search: the rung's decision queues
    /// them again (or prunes them), so the sweep's workers claim among them too.
    pub(crate) paused: Vec<String>,
    /// Configurations that need nothing, with the attempt that explains why.
    pub(crate) skipped: Vec<(String, SkipReason)>,
}

impl Queue {
    /// What the sweep's workers claim among, in claim order: the queued and paused
    /// configurations.
    pub(crate) fn claim_list(&self, runs: &[NewRun]) -> Vec<String> {
        runs.iter()
            .map(|r| &r.config_hash)
            .filter(|h| self.queued.contains(h) || self.paused.contains(h))
            .cloned()
            .collect()
    }
}

/// Queues every one of `runs` that needs training ([`Store::enqueue_config`]: new, interrupted,
/// stale, or finished with fewer epochs), keeping their order.
pub(crate) async fn enqueue(store: &Store, runs: &[NewRun], options: &SweepOptions) -> Result<Queue> {
    let mut queue = Queue { queued: Vec::new(), paused: Vec::new(), skipped: Vec::new() };
    for run in runs {
        let outcome = store.enqueue_config(run, options.retry_failed, Some(options.stale_after)).await?;
        tracing::debug!("configuration {}: {outcome:?}", &run.config_hash[..12.min(run.config_hash.len())]);
        match outcome {
            Enqueued::Skipped { reason: SkipReason::Paused, .. } => {
                queue.paused.push(run.config_hash.clone())
            }
            Enqueued::Skipped { run_id, reason } => queue.skipped.push((run_id, reason)),
            _ => queue.queued.push(run.config_hash.clone()),
        }
    }
    Ok(queue)
}

/// Puts a search's configurations in its claim order: by SHA-256 of the search id and the
/// configuration's hash, a random order that is the same for the same file (the search id covers
/// it) and that anyone can recompute from the stored ids. Asynchronous promotion needs it: in
/// grid order (a learning rate rising) nearly every new run beats those recorded before it and
/// continues, and the search costs what the grid does.
fn claim_order(runs: &mut [NewRun], search_id: &str) {
    runs.sort_by_cached_key(|run| claim_key(search_id, &run.config_hash));
}

/// A configuration's place in its search's claim order.
fn claim_key(search_id: &str, config_hash: &str) -> [u8; 32] {
    let mut key = Sha256::new();
    key.update(search_id.as_bytes());
    key.update(b"\0");
    key.update(config_hash.as_bytes());
    key.finalize().into()
}

/// The store's record of the experiment's search, if it runs one.
fn search(experiment: &Experiment, experiment_id: &str, checksums: &DataChecksums) -> Option<Search> {
    let asha = experiment.search.asha?;
    // The base reads the runs' data unless `data.dir` is swept; then any run's stands for it.
    let data = checksums
        .get(&preflight::data_dir(&experiment.base))
        .or_else(|| experiment.runs.first().and_then(|r| checksums.get(&preflight::data_dir(&r.config))))
        .map_or(&[][..], Vec::as_slice);
    let id = experiment.search.id(&experiment.name, &experiment.base, data)?;
    Some(Search { id, experiment_id: experiment_id.to_owned(), asha })
}

/// Checks the device and data of every configuration before anything is written
/// ([`preflight::check`], on a blocking thread: reading the data takes a moment).
pub(crate) async fn preflight(configs: Vec<RunConfig>) -> Result<DataChecksums> {
    tokio::task::spawn_blocking(move || preflight::check(&configs))
        .await
        .expect("preflight task")
        .map_err(Into::into)
}

/// A new attempt of `config` (identified by `config_hash`) under `experiment_id`, with what every
/// attempt records besides its configuration: the configuration as TOML (trainable by hand), this
/// binary's commit, tool versions and machine, the hash of the uncommitted diff and the checksums
/// of the data files it reads. Outside a sweep, untagged, nothing swept: callers add what differs.
pub(crate) fn new_attempt(
    experiment_id: &str,
    config: &RunConfig,
    config_hash: String,
    versions: &serde_json::Value,
    git: &GitState,
    data: &[(String, String)],
) -> NewRun {
    let mut versions = versions.clone();
    if let Some(map) = versions.as_object_mut() {
        map.insert("git_diff_sha256".into(), serde_json::json!(git.diff_sha256));
        let sums: serde_json::Map<String, serde_json::Value> =
            data.iter().map(|(name, sum)| (name.clone(), serde_json::json!(sum))).collect();
        map.insert("data_sha256".into(), serde_json::Value::Object(sums));
    }
    NewRun {
        experiment_id: experiment_id.to_owned(),
        sweep_id: None,
        config_hash,
        config: serde_json::to_value(config).expect("config serialises"),
        config_toml: toml::to_string(config).expect("config serialises"),
        varying: serde_json::json!({}),
        epochs_target: u32::try_from(config.train.epochs).unwrap_or(u32::MAX),
        git_commit: git.commit.clone(),
        git_dirty: git.dirty,
        versions,
        tags: Vec::new(),
        note: None,
        rerun_of: None,
    }
}

#[cfg(test)]
mod tests {
    use super::claim_key;

    fn ordered(search: &str, hashes: &[&str]) -> Vec<String> {
        let mut hashes: Vec<String> = hashes.iter().map(|h| (*h).to_owned()).collect();
        hashes.sort_by_cached_key(|h| claim_key(search, h));
        hashes
    }

    #[test]
    fn the_claim_order_is_the_search_s_not_the_grid_s() {
        let grid = ["h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8"];
        let order = ordered("search-a", &grid);
        // Whatever order the file lists the values in, the search claims them in one order.
        let mut reversed = grid;
        reversed.reverse();
        assert_eq!(ordered("search-a", &reversed), order);
        assert_ne!(order, grid, "not the grid's order");
        // Another search (another file or settings) draws another order.
        assert_ne!(ordered("search-b", &grid), order);
    }
}
