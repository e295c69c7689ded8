//! The summary table: final numbers of each configuration as mean ± std over its seeds.

use std::collections::BTreeSet;

use pixelcnn_config::{Condition, Levels, ModelFamily, RunConfig};
use pixelcnn_record::{Best, BestBy, EpochMetrics, RunStatus, best_epoch};
use serde::Serialize;

use crate::configs::Configuration;
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
    pub levels: Levels,
    /// Its model family.
    pub family: ModelFamily,
    /// What its model is conditioned on.
    pub condition: Condition,
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
        family: config.family,
        condition: config.condition,
        finished: counted.len(),
        repeats: repeats.len(),
        runs: originals.len() - repeats.len(),
        pruned: originals.iter().filter(|r| r.detail.status == RunStatus::Pruned).count(),
        seeds: counted.iter().map(|r| r.seed()).collect(),
        bits_per_dim: spread(&|e| e.test_bits_per_dim),
        nats_per_pixel: spread(&|e| e.test_nll),
        nats_per_image: spread(&|e| e.test_nats_per_image),
        best_epochs: bests.iter().map(|b| b.epoch).collect(),
        best_by,
        train_seconds: Spread::of(&seconds),
        images_per_second: Spread::of(&throughput),
        recipe: originals.first().map_or_else(String::new, |r| recipe(&r.config, counted.len())),
    }
}

/// The recipe facts that make numbers comparable or not: batch, epochs, the model's family, size
/// and condition, seeds, data subset.
fn recipe(config: &RunConfig, seeds: usize) -> String {
    let m = &config.model;
    let model = match m.family {
        ModelFamily::PixelCnn => format!("{} blocks, h = {}", m.blocks, m.hidden),
        ModelFamily::Gated => format!(
            "gated PixelCNN: {} layers, {} channels, kernel {}",
            m.gated.layers, m.gated.channels, m.gated.kernel
        ),
    };
    let condition = match m.condition {
        Condition::None => "",
        Condition::Label => ", conditioned on the label (test NLL given each image's class)",
    };
    let mut text = format!(
        "batch {}, {} epochs, {model}{condition}, {} seed{}, exact test NLL over all pixels",
        config.train.batch_size,
        config.train.epochs,
        seeds,
        if seeds == 1 { "" } else { "s" }
    );
    if let Some(limit) = config.data.train_limit {
        text.push_str(&format!(", first {limit} training images"));
    }
    if let Some(limit) = config.data.test_limit {
        text.push_str(&format!(", first {limit} test images"));
    }
    text
}
