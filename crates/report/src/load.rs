//! Everything a report shows, read from the results store and nothing else.

use std::collections::BTreeMap;

use pixelcnn_config::{Condition, Levels, ModelFamily, RunConfig};
use pixelcnn_record::{ArtefactKind, EpochMetrics, RunStatus};
use pixelcnn_store::{Experiment, RerunVerdict, RunDetail, RunFilter, RungRecord, Search, Store};
use serde::Deserialize;

use crate::error::{ReportError, Result};

/// A PNG picture a run recorded at the end of an epoch.
#[derive(Clone, Debug)]
pub struct Picture {
    /// Epoch it was drawn at.
    pub epoch: u32,
    /// Samples from scratch or completions.
    pub kind: ArtefactKind,
    /// The PNG bytes.
    pub png: Vec<u8>,
}

/// One run (execution attempt) with its epochs and pictures.
#[derive(Clone, Debug)]
pub struct RunData {
    /// What the store knows about the run.
    pub detail: RunDetail,
    /// Its resolved configuration, read from the stored JSON (`detail.run.config`, which the
    /// configuration diffs and identities walk key by key). Keys recorded before they existed take
    /// their defaults, the behaviour of those runs.
    pub config: RunConfig,
    /// Its epochs in order.
    pub epochs: Vec<EpochMetrics>,
    /// Its pictures in epoch order.
    pub pictures: Vec<Picture>,
    /// When it is a rerun: how it compared with its original.
    pub verdict: Option<RerunVerdict>,
    /// The profile of the sweep that created it (`--profile`), if any: what a person calls a
    /// configuration that differs from another only in keys the experiment does not sweep.
    pub profile: Option<String>,
}

impl RunData {
    /// Reads one run by id or unique id prefix.
    pub async fn load(store: &Store, id: &str) -> Result<RunData> {
        Self::complete(store, store.run(id).await?).await
    }

    /// A run's record with what the store keeps beside it: epochs, pictures, verdict, profile.
    async fn complete(store: &Store, detail: RunDetail) -> Result<RunData> {
        let config = run_config(&detail)?;
        let epochs = store.epochs(&detail.id).await?;
        let pictures = pictures(store, &detail.id).await?;
        let verdict = verdict(store, &detail.id).await?;
        let profile = match &detail.run.sweep_id {
            Some(sweep) => store.sweep(sweep).await?.profile,
            None => None,
        };
        Ok(RunData { detail, config, epochs, pictures, verdict, profile })
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.config.seed
    }

    /// The number of quantisation levels `q`.
    pub fn levels(&self) -> Levels {
        self.config.model.levels
    }

    /// The model family (runs recorded before `model.family` existed trained the PixelCNN).
    pub fn family(&self) -> ModelFamily {
        self.config.model.family
    }

    /// What the model is conditioned on (`none` for runs recorded before `model.condition`).
    pub fn condition(&self) -> Condition {
        self.config.model.condition
    }

    /// The last recorded epoch.
    pub fn last_epoch(&self) -> Option<&EpochMetrics> {
        self.epochs.last()
    }

    /// Whether the run still trains or waits to (its numbers will change). A pruned run has ended.
    pub fn in_progress(&self) -> bool {
        matches!(self.detail.status, RunStatus::Running | RunStatus::Queued)
    }

    /// The latest picture of `kind`.
    pub fn last_picture(&self, kind: ArtefactKind) -> Option<&Picture> {
        self.pictures.iter().rev().find(|p| p.kind == kind)
    }
}

/// A stored configuration as a typed [`RunConfig`].
fn run_config(detail: &RunDetail) -> Result<RunConfig> {
    RunConfig::deserialize(&detail.run.config)
        .map_err(|e| ReportError::RunConfig { run: detail.id.clone(), message: e.to_string() })
}

/// A run's live pictures with their bytes, in epoch order.
async fn pictures(store: &Store, run_id: &str) -> Result<Vec<Picture>> {
    let mut pictures = Vec::new();
    for artefact in store.artefacts(run_id).await? {
        if !artefact.kind.is_picture() || !artefact.has_data || artefact.deleted_at.is_some() {
            continue;
        }
        if let Some(png) = store.artefact_data(&artefact.id).await? {
            pictures.push(Picture { epoch: artefact.epoch, kind: artefact.kind, png });
        }
    }
    pictures.sort_by_key(|p| (p.epoch, p.kind.as_str()));
    Ok(pictures)
}

/// How a rerun compared with its original, when the run is one.
async fn verdict(store: &Store, run_id: &str) -> Result<Option<RerunVerdict>> {
    Ok(store.verdicts(run_id).await?.into_iter().find(|v| v.run_id == run_id))
}

/// An experiment with every run recorded for it, oldest first.
#[derive(Clone, Debug)]
pub struct ExperimentData {
    /// The experiment's record.
    pub experiment: Experiment,
    /// Its runs, in creation order.
    pub runs: Vec<RunData>,
    /// The rung decisions of its adaptive searches, in the order they were taken (none when it
    /// ran no search).
    pub rungs: Vec<RungRecord>,
    /// Those searches' settings, by search id: whether a rung waited for every configuration
    /// (SHA) or decided each arrival (ASHA) changes what its table means.
    pub searches: BTreeMap<String, Search>,
}

impl ExperimentData {
    /// Reads the experiment called `name` and all its runs.
    pub async fn load(store: &Store, name: &str) -> Result<ExperimentData> {
        let mut data = Self::load_records(store, name).await?;
        let mut epochs = store.experiment_epochs(name).await?;
        for run in &mut data.runs {
            run.epochs = epochs.remove(&run.detail.id).unwrap_or_default();
            run.pictures = pictures(store, &run.detail.id).await?;
            run.verdict = verdict(store, &run.detail.id).await?;
        }
        Ok(data)
    }

    /// Reads the experiment called `name` with its runs' records and rung decisions but without
    /// their epochs, pictures or rerun verdicts (left empty): a fixed number of queries however
    /// many runs there are, for a page that refreshes while a sweep writes and fetches curves and
    /// pictures on their own.
    pub async fn load_records(store: &Store, name: &str) -> Result<ExperimentData> {
        let experiments = store.experiments().await?;
        let Some(experiment) = experiments.iter().find(|e| e.name == name).cloned() else {
            let known: Vec<&str> = experiments.iter().map(|e| e.name.as_str()).collect();
            let known = if known.is_empty() { "none".into() } else { known.join(", ") };
            return Err(ReportError::UnknownExperiment { name: name.into(), known });
        };
        let filter = RunFilter { experiment: Some(name.into()), ..RunFilter::default() };
        let mut profiles: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut runs = Vec::new();
        for detail in store.list_runs(&filter).await? {
            let profile = match &detail.run.sweep_id {
                Some(sweep) => match profiles.get(sweep) {
                    Some(profile) => profile.clone(),
                    None => {
                        let profile = store.sweep(sweep).await?.profile;
                        profiles.insert(sweep.clone(), profile.clone());
                        profile
                    }
                },
                None => None,
            };
            let config = run_config(&detail)?;
            runs.push(RunData {
                detail,
                config,
                epochs: Vec::new(),
                pictures: Vec::new(),
                verdict: None,
                profile,
            });
        }
        runs.sort_by(|a, b| a.detail.created_at.cmp(&b.detail.created_at));
        let rungs = store.experiment_rung_decisions(name).await?;
        let mut searches = BTreeMap::new();
        for record in &rungs {
            if !searches.contains_key(&record.search_id)
                && let Some(search) = store.search_of(&record.run_id).await?
            {
                searches.insert(record.search_id.clone(), search);
            }
        }
        Ok(ExperimentData { experiment, runs, rungs, searches })
    }
}
