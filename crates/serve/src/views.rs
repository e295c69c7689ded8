//! The JSON the pages draw: shaped here from what the report's loader reads, so that the server
//! and the report group runs into configurations the same way (by identity, not by swept values
//! alone).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use pixelcnn_record::{ArtefactKind, EpochMetrics};
use pixelcnn_report::{
    Configuration, ExperimentData, RunData, configurations, differing_keys, display, flatten,
};
use pixelcnn_store::{Artefact, Experiment, RerunVerdict, RunDetail, RunSummary, RungRecord};
use serde_json::{Value, json};

/// The lowest finite test bits/dim over a run's epochs.
fn best_bits_per_dim(epochs: &[EpochMetrics]) -> Option<f64> {
    epochs.iter().map(|e| e.test_bits_per_dim).filter(|v| v.is_finite()).min_by(f64::total_cmp)
}

/// The newest of a run's timestamps: when something last happened to it.
fn last_activity(run: &RunDetail) -> Option<&str> {
    [Some(&run.created_at), run.started_at.as_ref(), run.ended_at.as_ref(), run.heartbeat_at.as_ref()]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .max()
}

/// `GET /api/experiments`: each experiment with its runs by status, last activity and best
/// last-epoch test bits/dim.
pub(crate) fn experiments(experiments: &[Experiment], runs: &[RunDetail]) -> Value {
    let list: Vec<Value> = experiments
        .iter()
        .map(|e| {
            let mine: Vec<&RunDetail> = runs.iter().filter(|r| r.experiment == e.name).collect();
            let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
            for run in &mine {
                *by_status.entry(run.status.as_str()).or_default() += 1;
            }
            let best = mine
                .iter()
                .filter_map(|r| r.last_test_bits_per_dim)
                .filter(|v| v.is_finite())
                .min_by(f64::total_cmp);
            let active = mine.iter().filter_map(|r| last_activity(r)).max().unwrap_or(&e.created_at);
            json!({
                "name": e.name,
                "description": e.description,
                "created_at": e.created_at,
                "runs": mine.len(),
                "by_status": by_status,
                "last_activity": active,
                "best_test_bits_per_dim": best,
            })
        })
        .collect();
    json!({ "experiments": list })
}

/// One row of an experiment's runs table.
fn run_row(run: &RunData, config: &Configuration, summary: Option<&RunSummary>) -> Value {
    let d = &run.detail;
    json!({
        "id": d.id,
        "status": d.status.as_str(),
        "configuration": config.number,
        "configuration_label": config.label,
        "swept": d.run.varying,
        "config": flatten(&d.run.config),
        "profile": run.profile,
        "tags": d.run.tags,
        "note": d.run.note,
        "epoch": d.last_epoch,
        "epochs_target": d.run.epochs_target,
        "test_bits_per_dim": d.last_test_bits_per_dim,
        "best_test_bits_per_dim": summary.and_then(|s| s.best_test_bits_per_dim),
        "validation_nll": summary.and_then(|s| s.last_validation_nll),
        "images_per_second": summary.and_then(|s| s.last_images_per_second),
        "device": d.device,
        "slurm": d.slurm.as_ref().map(ToString::to_string),
        "created_at": d.created_at,
        "heartbeat_at": d.heartbeat_at,
        "rerun_of": d.run.rerun_of,
        "error": d.error,
    })
}

/// The newest picture of `kind` among `runs`.
fn newest<'a>(pictures: &'a [Artefact], runs: &BTreeSet<&str>, kind: ArtefactKind) -> Option<&'a Artefact> {
    pictures.iter().filter(|p| p.kind == kind && runs.contains(p.run_id.as_str())).max_by_key(|p| p.epoch)
}

fn picture(p: Option<&Artefact>) -> Value {
    p.map_or(Value::Null, |p| json!({ "id": p.id, "run": p.run_id, "epoch": p.epoch }))
}

/// `GET /api/experiments/NAME`: the runs table, the configurations with their newest pictures,
/// and the rung decisions.
pub(crate) fn experiment(
    data: &ExperimentData,
    summaries: &HashMap<String, RunSummary>,
    pictures: &[Artefact],
) -> Value {
    let configs = configurations(&data.runs);
    let mut rows = vec![Value::Null; data.runs.len()];
    let mut config_views = Vec::new();
    for config in &configs {
        for &r in &config.runs {
            rows[r] = run_row(&data.runs[r], config, summaries.get(&data.runs[r].detail.id));
        }
        let ids: BTreeSet<&str> = config.runs.iter().map(|&r| data.runs[r].detail.id.as_str()).collect();
        config_views.push(json!({
            "number": config.number,
            "label": config.label,
            "varying": config.varying.iter().map(|(k, v)| (k.clone(), display(v))).collect::<BTreeMap<_, _>>(),
            "runs": ids,
            "samples": picture(newest(pictures, &ids, ArtefactKind::Samples)),
            "completion": picture(newest(pictures, &ids, ArtefactKind::Completion)),
        }));
    }
    let keys: BTreeSet<String> = data
        .runs
        .iter()
        .filter_map(|r| r.detail.run.varying.as_object())
        .flat_map(|m| m.keys().cloned())
        .collect();
    json!({
        "experiment": { "name": data.experiment.name, "description": data.experiment.description,
                        "created_at": data.experiment.created_at },
        "keys": keys,
        "runs": rows,
        "configurations": config_views,
        "rungs": data.rungs,
    })
}

/// A run's epochs as columns, what a chart takes.
pub(crate) fn curve(id: &str, epochs: &[EpochMetrics]) -> Value {
    let column = |f: fn(&EpochMetrics) -> Option<f64>| -> Vec<Option<f64>> {
        epochs.iter().map(|e| f(e).filter(|v| v.is_finite())).collect()
    };
    json!({
        "id": id,
        "epoch": epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(),
        "train_nll": column(|e| Some(e.train_nll)),
        "validation_nll": column(|e| e.validation_nll),
        "test_nll": column(|e| Some(e.test_nll)),
        "test_bits_per_dim": column(|e| Some(e.test_bits_per_dim)),
        "lr": column(|e| Some(e.lr)),
    })
}

/// `GET /api/experiments/NAME/curves`: the curves of `ids`, in that order.
pub(crate) fn curves(ids: &[String], epochs: &HashMap<String, Vec<EpochMetrics>>) -> Value {
    let runs: Vec<Value> =
        ids.iter().map(|id| curve(id, epochs.get(id).map_or(&[][..], Vec::as_slice))).collect();
    json!({ "runs": runs })
}

/// What the run page shows beside the run's record.
pub(crate) struct RunPage {
    /// The run.
    pub detail: RunDetail,
    /// Its sweep's profile.
    pub profile: Option<String>,
    /// Its epochs.
    pub epochs: Vec<EpochMetrics>,
    /// Its artefacts (pictures are linked, files listed).
    pub artefacts: Vec<Artefact>,
    /// Its rung decisions.
    pub rungs: Vec<RungRecord>,
    /// Rerun verdicts it is part of (as rerun or original).
    pub verdicts: Vec<RerunVerdict>,
}

/// `GET /api/runs/ID`: everything about one run.
pub(crate) fn run(page: &RunPage) -> Value {
    let pictures: Vec<Value> = page
        .artefacts
        .iter()
        .filter(|a| a.kind.is_picture() && a.has_data && a.deleted_at.is_none())
        .map(|a| json!({ "id": a.id, "epoch": a.epoch, "kind": a.kind.as_str() }))
        .collect();
    let files: Vec<Value> = page
        .artefacts
        .iter()
        .filter(|a| !a.has_data)
        .map(|a| {
            json!({ "epoch": a.epoch, "kind": a.kind.as_str(), "name": a.name, "size_bytes": a.size_bytes,
                         "deleted": a.deleted_at.is_some() })
        })
        .collect();
    let verdicts: Vec<Value> = page
        .verdicts
        .iter()
        .map(|v| json!({ "run": v.run_id, "original": v.original_id, "summary": v.summary() }))
        .collect();
    json!({
        "run": page.detail,
        "profile": page.profile,
        "epochs": page.epochs,
        "curve": curve(&page.detail.id, &page.epochs),
        "pictures": pictures,
        "files": files,
        "rungs": page.rungs,
        "verdicts": verdicts,
        "best_test_bits_per_dim": best_bits_per_dim(&page.epochs),
        "now": chrono::Utc::now().to_rfc3339(),
    })
}

/// `GET /api/compare?runs=...`: the runs' final metrics, the configuration keys that differ, and
/// their curves.
pub(crate) fn compare(runs: &[(RunDetail, Vec<EpochMetrics>)]) -> Value {
    let flat: Vec<BTreeMap<String, Value>> = runs.iter().map(|(r, _)| flatten(&r.run.config)).collect();
    let differing: Vec<Value> = differing_keys(runs.iter().map(|(r, _)| &r.run.config))
        .into_iter()
        .map(|k| json!({ "key": k, "values": flat.iter().map(|f| f.get(&k).map(display)).collect::<Vec<_>>() }))
        .collect();
    let list: Vec<Value> = runs
        .iter()
        .map(|(r, epochs)| {
            let last = epochs.last();
            json!({
                "id": r.id,
                "experiment": r.experiment,
                "status": r.status.as_str(),
                "epoch": r.last_epoch,
                "epochs_target": r.run.epochs_target,
                "test_bits_per_dim": r.last_test_bits_per_dim,
                "best_test_bits_per_dim": best_bits_per_dim(epochs),
                "test_nll": last.map(|e| e.test_nll),
                "train_nll": last.map(|e| e.train_nll),
                "validation_nll": last.and_then(|e| e.validation_nll),
                "test_nats_per_image": last.map(|e| e.test_nats_per_image),
                "images_per_second": last.map(|e| e.images_per_second),
                "curve": curve(&r.id, epochs),
            })
        })
        .collect();
    json!({ "runs": list, "differing": differing })
}
