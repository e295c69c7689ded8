//! The summary table: final numbers of each configuration as mean ± std over its seeds.

use std::collections::BTreeSet;

use pixelcnn_record::{Best, BestBy, EpochMetrics, RunStatus, best_epoch};
use serde::Serialize;

use crate::configs::{Configuration, display};
use crate::load::RunData;
use crate::stats::Spread;

/// One configuration's row of the summary table, over its finished runs (reruns excluded: they
/// verify a run, they are not another sample of it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SummaryRow {
    /// The configuration's number.
    pub configuration: usize,
    /// Its label.
    pub label: String,
    /// Its levels `q`.
    pub levels: Option<u64>,
    /// Its model family.
    pub family: String,
    /// What its model is conditioned on.
    pub condition: String,
    /// Finished runs counted.
    pub finished: usize,
    /// Finished runs of a seed already counted (not counted again: n is a number of seeds).
    pub repeats: usize,
    /// Its original runs, whatever their status, less the repeats.
    pub runs: usize,
    /// Original runs an adaptive search stopped at a rung (not counted: they did not finish).
    pub pruned: usize,
    /// Seeds of the counted runs.
    pub seeds: Vec<u64>,
    /// Final test bits/dim.
    pub bits_per_dim: Option<Spread>,
    /// Final test NLL, nats per pixel.
    pub nats_per_pixel: Option<Spread>,
    /// Final test NLL, nats per image.
    pub nats_per_image: Option<Spread>,
    /// Best epoch of each counted run.
    pub best_epochs: Vec<u32>,
    /// How the best epochs were chosen (test set if any run lacked a validation split).
    pub best_by: Option<BestBy>,
    /// Training time per run, seconds (sum over epochs).
    pub train_seconds: Option<Spread>,
    /// Mean training throughput per run, images per second.
    pub images_per_second: Option<Spread>,
    /// The recipe of the configuration, to set against the seed's.
    pub recipe: String,
}

/// Summarises `config` over `runs` (the experiment's run list).
pub fn summarise(config: &Configuration, runs: &[RunData]) -> SummaryRow {
    let originals: Vec<&RunData> =
        config.runs.iter().map(|&i| &runs[i]).filter(|r| r.detail.run.rerun_of.is_none()).collect();
    // n counts seeds: another finished run of a seed already counted (the configuration trained
    // again) repeats that sample, it is not a new one.
    let mut seeds_seen = BTreeSet::new();
    let (counted, repeats): (Vec<&RunData>, Vec<&RunData>) = originals
        .iter()
        .copied()
        .filter(|r| r.detail.status == RunStatus::Finished && r.last_epoch().is_some())
        .partition(|r| seeds_seen.insert(r.seed()));
    let finals: Vec<&EpochMetrics> = counted.iter().filter_map(|r| r.last_epoch()).collect();
    let spread =
        |f: &dyn Fn(&EpochMetrics) -> f64| Spread::of(&finals.iter().map(|e| f(e)).collect::<Vec<_>>());
    let bests: Vec<Best> = counted.iter().filter_map(|r| best_epoch(&r.epochs)).collect();
    let best_by = if bests.is_empty() {
        None
    } else if bests.iter().all(|b| b.by == BestBy::Validation) {
        Some(BestBy::Validation)
    } else {
        Some(BestBy::TestSet)
    };
    let seconds: Vec<f64> = counted.iter().map(|r| r.epochs.iter().map(|e| e.seconds).sum()).collect();
    let throughput: Vec<f64> = counted
        .iter()
        .map(|r| r.epochs.iter().map(|e| e.images_per_second).sum::<f64>() / r.epochs.len() as f64)
        .collect();
    SummaryRow {
        configuration: config.number,
        label: config.label.clone(),
        levels: config.levels,
        family: config.family.clone(),
        condition: config.condition.clone(),
        finished: counted.len(),
        repeats: repeats.len(),
        runs: originals.len() - repeats.len(),
        pruned: originals.iter().filter(|r| r.detail.status == RunStatus::Pruned).count(),
        seeds: counted.iter().filter_map(|r| r.seed()).collect(),
        bits_per_dim: spread(&|e| e.test_bits_per_dim),
        nats_per_pixel: spread(&|e| e.test_nll),
        nats_per_image: spread(&|e| e.test_nats_per_image),
        best_epochs: bests.iter().map(|b| b.epoch).collect(),
        best_by,
        train_seconds: Spread::of(&seconds),
        images_per_second: Spread::of(&throughput),
        recipe: originals.first().map_or_else(String::new, |r| recipe(&r.detail.run.config, counted.len())),
    }
}

/// The recipe facts that make numbers comparable or not: batch, epochs, the model's family, size
/// and condition, seeds, data subset.
fn recipe(config: &serde_json::Value, seeds: usize) -> String {
    let get = |path: &str| config.pointer(path).map(display).unwrap_or_else(|| "?".into());
    let model = match config.pointer("/model/family").and_then(serde_json::Value::as_str) {
        Some("gated") => format!(
            "gated PixelCNN: {} layers, {} channels, kernel {}",
            get("/model/gated/layers"),
            get("/model/gated/channels"),
            get("/model/gated/kernel")
        ),
        _ => format!("{} blocks, h = {}", get("/model/blocks"), get("/model/hidden")),
    };
    let condition = match config.pointer("/model/condition").and_then(serde_json::Value::as_str) {
        Some("label") => ", conditioned on the label (test NLL given each image's class)",
        _ => "",
    };
    let mut text = format!(
        "batch {}, {} epochs, {model}{condition}, {} seed{}, exact test NLL over all pixels",
        get("/train/batch_size"),
        get("/train/epochs"),
        seeds,
        if seeds == 1 { "" } else { "s" }
    );
    if let Some(limit) = config.pointer("/data/train_limit").filter(|v| !v.is_null()) {
        text.push_str(&format!(", first {} training images", display(limit)));
    }
    if let Some(limit) = config.pointer("/data/test_limit").filter(|v| !v.is_null()) {
        text.push_str(&format!(", first {} test images", display(limit)));
    }
    text
}
