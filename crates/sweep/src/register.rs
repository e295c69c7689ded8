//! What a sweep records before anything runs: the experiment and sweep rows, one [`NewRun`] per
//! planned configuration with its identity (`config_hash`) and provenance, and the search the
//! configurations take part in (so that every worker finds its rung rules in the store).

use pixelcnn_config::{Experiment, RunConfig, config_hash};
use pixelcnn_store::{NewRun, NewSweep, Search, Store};

use crate::error::Result;
use crate::git::GitState;
use crate::scheduler::SweepOptions;
use pixelcnn_train::preflight::{self, DataChecksums};

/// Records the experiment, this sweep and its search, and returns the runs to claim, in plan
/// order. `checksums` are preflight's, by data folder.
pub(crate) async fn register(
    store: &Store,
    experiment: &Experiment,
    options: &SweepOptions,
    checksums: &DataChecksums,
) -> Result<Vec<NewRun>> {
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
    let runs: Vec<NewRun> = experiment
        .runs
        .iter()
        .map(|run| {
            let data = &checksums[&preflight::data_dir(&run.config)];
            NewRun {
                experiment_id: experiment_id.clone(),
                sweep_id: Some(sweep_id.clone()),
                config_hash: config_hash(&run.config, data),
                config: serde_json::to_value(&run.config).expect("config serialises"),
                config_toml: toml::to_string(&run.config).expect("config serialises"),
                varying: serde_json::to_value(&run.varying).expect("TOML values convert to JSON"),
                epochs_target: u32::try_from(run.config.train.epochs).unwrap_or(u32::MAX),
                git_commit: git.commit.clone(),
                git_dirty: git.dirty,
                versions: provenance(&options.versions, &git, data),
                tags: options.tags.clone(),
                note: options.note.clone(),
                rerun_of: None,
            }
        })
        .collect();
    // Before any claim: a worker started from here on reads its run's search from the store.
    let hashes: Vec<String> = runs.iter().map(|r| r.config_hash.clone()).collect();
    let search = search(experiment, &experiment_id, checksums);
    if let Some(s) = &search {
        tracing::info!(
            "ASHA search {}: rungs at epochs {:?} of {}",
            &s.id[..12],
            s.asha.rungs(),
            s.asha.max_epochs
        );
    }
    store.join_search(&experiment_id, search.as_ref(), &hashes).await?;
    Ok(runs)
}

/// The store's record of the experiment's ASHA search, if it runs one.
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

/// What a run records besides its configuration: tool versions and machine, the hash of the
/// uncommitted diff, and the checksums of the data files it reads.
pub(crate) fn provenance(
    versions: &serde_json::Value,
    git: &GitState,
    data: &[(String, String)],
) -> serde_json::Value {
    let mut v = versions.clone();
    if let Some(map) = v.as_object_mut() {
        map.insert("git_diff_sha256".into(), serde_json::json!(git.diff_sha256));
        let sums: serde_json::Map<String, serde_json::Value> =
            data.iter().map(|(name, sum)| (name.clone(), serde_json::json!(sum))).collect();
        map.insert("data_sha256".into(), serde_json::Value::Object(sums));
    }
    v
}
