//! The report's sections, built from the loaded runs: summary rows, configurations, problems,
//! environment, reruns, header; pictures and figures as data URIs, inline SVG and files.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use pixelcnn_config::Levels;
use pixelcnn_record::{ArtefactKind, BestBy};

use crate::configs::{self, Configuration, display};
use crate::curves::NamedPanel;
use crate::error::Result;
use crate::load::{ExperimentData, Picture, RunData};
use crate::reference::{SEED_RECIPE, seed_result};
use crate::stats::Spread;
use crate::summary::SummaryRow;

use super::types::{ConfigView, Fact, FigureView, ImageView, OutputFile, ProblemView, SummaryView};

pub(super) fn spread(value: Option<Spread>, decimals: usize) -> String {
    value.map_or_else(|| "-".into(), |s| s.format(decimals))
}

pub(super) fn count_runs(runs: &[&RunData]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in runs {
        *counts.entry(r.detail.status.as_str()).or_default() += 1;
    }
    counts.iter().map(|(s, n)| format!("{n} {s}")).collect::<Vec<_>>().join(", ")
}

pub(super) fn distinct<'a>(values: impl Iterator<Item = Option<String>> + 'a) -> String {
    let set: BTreeSet<String> = values.flatten().collect();
    if set.is_empty() { "-".into() } else { set.into_iter().collect::<Vec<_>>().join(", ") }
}

pub(super) fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

/// A picture inlined as a data URI, without a file.
pub(crate) fn image_view(picture: &Picture, caption: String) -> ImageView {
    let data_uri =
        format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&picture.png));
    ImageView { caption, data_uri, file: String::new() }
}

pub(super) fn image(picture: &Picture, config: usize, caption: String) -> (ImageView, OutputFile) {
    let path = format!("images/config-{config:02}-{}-epoch-{:04}.png", picture.kind.as_str(), picture.epoch);
    let view = ImageView { file: path.clone(), ..image_view(picture, caption) };
    (view, OutputFile { path, bytes: picture.png.clone() })
}

pub(crate) fn figure(named: NamedPanel, files: &mut Vec<OutputFile>) -> Result<FigureView> {
    let svg = named.panel.to_svg()?;
    let file = format!("figures/{}", named.file);
    files.push(OutputFile { path: file.clone(), bytes: svg.clone().into_bytes() });
    Ok(FigureView { title: named.panel.title, svg, file })
}

pub(super) fn summary_view(row: &SummaryRow) -> SummaryView {
    let best = match row.best_by {
        Some(BestBy::TestSet) => " (test)",
        _ => "",
    };
    SummaryView {
        number: row.configuration.to_string(),
        label: row.label.clone(),
        n: {
            let n = match (row.finished == row.runs, row.pruned) {
                (true, _) => row.finished.to_string(),
                (false, 0) => format!("{} of {}", row.finished, row.runs),
                (false, pruned) => format!("{} of {} ({pruned} pruned)", row.finished, row.runs),
            };
            match row.repeats {
                0 => n,
                k => format!("{n} (+{k} repeat{} of a seed)", if k == 1 { "" } else { "s" }),
            }
        },
        bits_per_dim: spread(row.bits_per_dim, 4),
        nats_per_pixel: spread(row.nats_per_pixel, 4),
        nats_per_image: spread(row.nats_per_image, 2),
        best_epoch: if row.best_epochs.is_empty() {
            "-".into()
        } else {
            format!("{}{best}", row.best_epochs.iter().map(u32::to_string).collect::<Vec<_>>().join(", "))
        },
        train_time: spread(row.train_seconds, 1),
        images_per_second: spread(row.images_per_second, 1),
        recipe: row.recipe.clone(),
        reference: false,
    }
}

pub(super) fn reference_view(levels: Levels) -> Option<SummaryView> {
    let seed = seed_result(levels.get() as u64)?;
    Some(SummaryView {
        number: String::new(),
        label: format!("seed notebook, q = {levels}"),
        n: "1".into(),
        bits_per_dim: format!("{:.4}", seed.bits_per_dim),
        nats_per_pixel: format!("{:.4}", seed.nats_per_pixel()),
        nats_per_image: format!("{:.2}", seed.nats_per_image()),
        best_epoch: "100 (last)".into(),
        train_time: "-".into(),
        images_per_second: "-".into(),
        recipe: SEED_RECIPE.into(),
        reference: true,
    })
}

/// The summary table with the seed's published row after the last configuration of its `q`.
pub(super) fn summary_table(rows: &[SummaryRow]) -> Vec<SummaryView> {
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        out.push(summary_view(row));
        let last_of_its_levels = rows[i + 1..].iter().all(|r| r.levels != row.levels);
        if last_of_its_levels && let Some(reference) = reference_view(row.levels) {
            out.push(reference);
        }
    }
    out
}

pub(super) fn config_view(
    config: &Configuration,
    runs: &[RunData],
    diff_keys: &[String],
    files: &mut Vec<OutputFile>,
) -> ConfigView {
    let members: Vec<&RunData> = config.runs.iter().map(|&i| &runs[i]).collect();
    let flat: Vec<BTreeMap<String, serde_json::Value>> =
        members.iter().map(|r| configs::flatten(&r.detail.run.config)).collect();
    let values = diff_keys
        .iter()
        .map(|key| {
            let set: BTreeSet<String> = flat.iter().map(|f| f.get(key).map_or("-".into(), display)).collect();
            set.into_iter().collect::<Vec<_>>().join(", ")
        })
        .collect();
    let seeds: BTreeSet<u64> = members.iter().map(|r| r.seed()).collect();
    // Pictures of the lowest-seed original run that has any.
    let source = members
        .iter()
        .filter(|r| r.detail.run.rerun_of.is_none() && !r.pictures.is_empty())
        .min_by_key(|r| (r.seed(), r.detail.created_at.clone()));
    let mut view = ConfigView {
        number: config.number,
        label: config.label.clone(),
        values,
        seeds: seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
        statuses: count_runs(&members),
        labels: members.iter().filter_map(|r| labels(r)).collect(),
        pictures_from: String::new(),
        samples: None,
        completion: None,
        sample_evolution: Vec::new(),
        completion_evolution: Vec::new(),
    };
    let Some(run) = source else { return view };
    view.pictures_from = format!("run {} (seed {})", short(&run.detail.id), run.seed());
    for kind in [ArtefactKind::Samples, ArtefactKind::Completion] {
        let all: Vec<&Picture> = run.pictures.iter().filter(|p| p.kind == kind).collect();
        let mut evolution = Vec::new();
        if all.len() > 1 {
            for picture in &all {
                let (img, file) = image(picture, config.number, format!("epoch {}", picture.epoch));
                files.push(file);
                evolution.push(img);
            }
        }
        let rows = if config.conditional() && kind == ArtefactKind::Samples {
            ", one row per class (0 at the top)"
        } else {
            ""
        };
        let last = run.last_picture(kind).map(|picture| {
            let caption = format!("{kind} after epoch {}{rows}", picture.epoch);
            let (img, file) = image(picture, config.number, caption);
            if all.len() <= 1 {
                files.push(file);
            }
            img
        });
        match kind {
            ArtefactKind::Samples => (view.samples, view.sample_evolution) = (last, evolution),
            _ => (view.completion, view.completion_evolution) = (last, evolution),
        }
    }
    view
}

/// A run's tags and note as one line (`run 1a2b3c4d (seed 1): tags best, q2; note "…"`), `None`
/// for a run without either.
fn labels(run: &RunData) -> Option<String> {
    let tags = &run.detail.run.tags;
    let note = run.detail.run.note.as_deref();
    if tags.is_empty() && note.is_none() {
        return None;
    }
    let mut parts = Vec::new();
    if !tags.is_empty() {
        parts.push(format!("tags {}", tags.join(", ")));
    }
    if let Some(note) = note {
        parts.push(format!("note \"{note}\""));
    }
    Some(format!("run {} (seed {}): {}", short(&run.detail.id), run.seed(), parts.join("; ")))
}

pub(super) fn problem_view(run: &RunData, configs: &[Configuration], index: usize) -> ProblemView {
    let label =
        configs.iter().find(|c| c.runs.contains(&index)).map_or_else(String::new, |c| c.label.clone());
    ProblemView {
        run: run.detail.id.clone(),
        label,
        seed: run.seed().to_string(),
        status: run.detail.status.as_str().into(),
        progress: format!(
            "epoch {} of {}",
            run.last_epoch().map_or(0, |e| e.epoch),
            run.detail.run.epochs_target
        ),
        error: run.detail.error.clone().unwrap_or_default(),
    }
}

pub(super) fn environment(runs: &[RunData]) -> Vec<Fact> {
    let mut facts = Vec::new();
    let mut version_keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for run in runs {
        if let serde_json::Value::Object(map) = &run.detail.run.versions {
            for (key, value) in map {
                version_keys.entry(key.clone()).or_default().insert(display(value));
            }
        }
    }
    for (key, values) in version_keys {
        facts.push(Fact { name: key, value: values.into_iter().collect::<Vec<_>>().join(", ") });
    }
    facts.push(Fact {
        name: "devices".into(),
        value: distinct(runs.iter().map(|r| {
            r.detail.device.as_ref().map(|d| match r.detail.threads {
                Some(t) => format!("{d} ({t} threads)"),
                None => d.clone(),
            })
        })),
    });
    facts.push(Fact {
        name: "hosts".into(),
        value: distinct(runs.iter().map(|r| r.detail.worker_host.clone())),
    });
    facts.push(Fact { name: "git commits".into(), value: commits(runs) });
    let seeds: BTreeSet<u64> = runs.iter().map(RunData::seed).collect();
    facts.push(Fact {
        name: "seeds".into(),
        value: seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
    });
    facts.push(Fact {
        name: "config hashes".into(),
        value: distinct(runs.iter().map(|r| Some(short(&r.detail.run.config_hash)))),
    });
    facts
}

pub(super) fn commits(runs: &[RunData]) -> String {
    distinct(runs.iter().map(|r| {
        r.detail.run.git_commit.as_ref().map(|c| {
            let dirty = if r.detail.run.git_dirty == Some(true) { " (dirty)" } else { "" };
            format!("{}{dirty}", c.chars().take(12).collect::<String>())
        })
    }))
}

pub(super) fn reruns(runs: &[RunData]) -> Vec<Fact> {
    runs.iter()
        .filter_map(|r| {
            let original = r.detail.run.rerun_of.as_ref()?;
            let value = r
                .verdict
                .as_ref()
                .map_or_else(|| format!("no verdict ({})", r.detail.status.as_str()), |v| v.summary());
            Some(Fact { name: format!("run {} reruns {}", short(&r.detail.id), short(original)), value })
        })
        .collect()
}

pub(super) fn header(data: &ExperimentData) -> Vec<Fact> {
    let runs = &data.runs;
    let all: Vec<&RunData> = runs.iter().collect();
    let first = runs.iter().map(|r| r.detail.created_at.clone()).min();
    let last = runs.iter().filter_map(|r| r.detail.ended_at.clone()).max();
    vec![
        Fact { name: "recorded since".into(), value: data.experiment.created_at.clone() },
        Fact { name: "first run".into(), value: first.unwrap_or_else(|| "-".into()) },
        Fact { name: "last run ended".into(), value: last.unwrap_or_else(|| "-".into()) },
        Fact { name: "runs".into(), value: if all.is_empty() { "none".into() } else { count_runs(&all) } },
        Fact { name: "git commits".into(), value: commits(runs) },
        Fact { name: "devices".into(), value: distinct(runs.iter().map(|r| r.detail.device.clone())) },
    ]
}
