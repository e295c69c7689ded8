//! What the templates show, as plain strings and lists: every number formatted here, every user
//! string passed through unchanged (the HTML template escapes it, the Markdown one too).

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use pixelcnn_record::{ArtefactKind, BestBy, RunStatus};
use serde::Serialize;

use crate::configs::{self, Configuration, differing_keys, display};
use crate::curves::{NamedPanel, final_against_parameters, learning_curves};
use crate::error::Result;
use crate::families::{FamilyView, compare_families};
use crate::load::{ExperimentData, Picture, RunData};
use crate::reference::{SEED_RECIPE, seed_result};
use crate::rungs::{RungsView, searches};
use crate::stats::Spread;
use crate::summary::{SummaryRow, summarise};

/// A file of the Markdown report: its path relative to the output folder and its bytes.
#[derive(Clone, Debug)]
pub struct OutputFile {
    /// Relative path built from fixed words and numbers, e.g. `images/config-01-samples.png`.
    pub path: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// One ASHA search of the experiment: its rungs and its survivors' curves.
#[derive(Clone, Debug, Serialize)]
pub struct SearchView {
    /// Which run stopped where.
    pub rungs: RungsView,
    /// The survivors' curves of the metric the rungs compared.
    pub survivors: FigureView,
}

/// A figure: inline SVG for the HTML page, a file for the Markdown report.
#[derive(Clone, Debug, Serialize)]
pub struct FigureView {
    /// Caption.
    pub title: String,
    /// The SVG document (trusted: drawn by plotters, which escapes its text).
    pub svg: String,
    /// Relative path of the SVG file.
    pub file: String,
}

/// A picture: a data URI for the HTML page, a file for the Markdown report.
#[derive(Clone, Debug, Serialize)]
pub struct ImageView {
    /// Caption.
    pub caption: String,
    /// `data:image/png;base64,...`.
    pub data_uri: String,
    /// Relative path of the PNG file.
    pub file: String,
}

/// One row of the summary table, formatted.
#[derive(Clone, Debug, Serialize)]
pub struct SummaryView {
    /// Configuration number, or empty for a reference row.
    pub number: String,
    /// Configuration label or the reference's name.
    pub label: String,
    /// `n` of the statistics, with the count of runs when some did not finish.
    pub n: String,
    /// Final test bits/dim.
    pub bits_per_dim: String,
    /// Final test nats per pixel.
    pub nats_per_pixel: String,
    /// Final test nats per image.
    pub nats_per_image: String,
    /// Best epochs.
    pub best_epoch: String,
    /// Training time.
    pub train_time: String,
    /// Images per second.
    pub images_per_second: String,
    /// Recipe facts.
    pub recipe: String,
    /// Whether this is the seed notebook's published result.
    pub reference: bool,
}

/// One configuration's section: its keys and pictures.
#[derive(Clone, Debug, Serialize)]
pub struct ConfigView {
    /// Its number.
    pub number: usize,
    /// Its label.
    pub label: String,
    /// Values of the differing keys (same order as the report's `diff_keys`).
    pub values: Vec<String>,
    /// Seeds of its runs.
    pub seeds: String,
    /// Statuses of its runs, e.g. `3 finished`.
    pub statuses: String,
    /// Where its pictures come from.
    pub pictures_from: String,
    /// The last sample grid.
    pub samples: Option<ImageView>,
    /// The last completion grid.
    pub completion: Option<ImageView>,
    /// Sample grids of every saved epoch, when there are several.
    pub sample_evolution: Vec<ImageView>,
    /// Completion grids of every saved epoch, when there are several.
    pub completion_evolution: Vec<ImageView>,
}

/// A run that did not finish (failed, interrupted, still running or queued).
#[derive(Clone, Debug, Serialize)]
pub struct ProblemView {
    /// Run id.
    pub run: String,
    /// Its configuration.
    pub label: String,
    /// Its seed.
    pub seed: String,
    /// Its status.
    pub status: String,
    /// `epoch k of N`.
    pub progress: String,
    /// The recorded error text, if any.
    pub error: String,
}

/// A key-value line of the environment section.
#[derive(Clone, Debug, Serialize)]
pub struct Fact {
    /// What.
    pub name: String,
    /// Its value(s).
    pub value: String,
}

/// Everything a report page shows.
#[derive(Clone, Debug, Serialize)]
pub struct ReportView {
    /// Experiment name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// When the report was made.
    pub generated_at: String,
    /// Key facts of the header (dates, runs by status, commits, devices).
    pub header: Vec<Fact>,
    /// Runs still training or waiting: the report is partial when not 0.
    pub in_progress: usize,
    /// The summary table.
    pub summary: Vec<SummaryView>,
    /// Whether some best epoch was chosen on the test set (no validation split).
    pub best_on_test: bool,
    /// Model families side by side (empty when the experiment trains one).
    pub families: Vec<FamilyView>,
    /// Learning curves.
    pub curves: Vec<FigureView>,
    /// Final bits/dim against swept numeric keys.
    pub parameters: Vec<FigureView>,
    /// The experiment's ASHA searches: which run stopped where, and the survivors' curves.
    pub searches: Vec<SearchView>,
    /// Keys whose values differ between runs (the configuration diff).
    pub diff_keys: Vec<String>,
    /// Per configuration.
    pub configurations: Vec<ConfigView>,
    /// Full configuration of the first run (TOML).
    pub base_config: String,
    /// Runs that did not finish (pruned runs excepted: they stopped as their search decided).
    pub problems: Vec<ProblemView>,
    /// Environment and reproducibility facts.
    pub environment: Vec<Fact>,
    /// Reruns and their verdicts.
    pub reruns: Vec<Fact>,
    /// Caveats about comparing these numbers.
    pub notes: Vec<Note>,
    /// Whether there are no runs at all.
    pub empty: bool,
}

/// A caveat under the summary or a comparison; its words are in `templates/prose.txt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Note {
    /// How the final numbers are computed.
    FinalNumbers,
    /// The 2-level data is thresholded, not the literature's binarised MNIST.
    Threshold,
    /// A search ranked its runs on the test set.
    Optimistic,
    /// Conditional NLLs are not unconditional ones.
    Conditional,
    /// Two compared runs model different numbers of levels.
    DifferentLevels,
}

/// A report ready to render: the view and the files the Markdown version links.
#[derive(Clone, Debug)]
pub struct Report {
    /// What the templates show.
    pub view: ReportView,
    /// SVG and PNG files for `report.md`.
    pub files: Vec<OutputFile>,
    /// The numbers behind the summary table.
    pub summary: Vec<SummaryRow>,
}

fn spread(value: Option<Spread>, decimals: usize) -> String {
    value.map_or_else(|| "-".into(), |s| s.format(decimals))
}

fn count_runs(runs: &[&RunData]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in runs {
        *counts.entry(r.detail.status.as_str()).or_default() += 1;
    }
    counts.iter().map(|(s, n)| format!("{n} {s}")).collect::<Vec<_>>().join(", ")
}

fn distinct<'a>(values: impl Iterator<Item = Option<String>> + 'a) -> String {
    let set: BTreeSet<String> = values.flatten().collect();
    if set.is_empty() { "-".into() } else { set.into_iter().collect::<Vec<_>>().join(", ") }
}

fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

/// A picture inlined as a data URI, without a file.
pub(crate) fn image_view(picture: &Picture, caption: String) -> ImageView {
    let data_uri =
        format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&picture.png));
    ImageView { caption, data_uri, file: String::new() }
}

fn image(picture: &Picture, config: usize, caption: String) -> (ImageView, OutputFile) {
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

fn summary_view(row: &SummaryRow) -> SummaryView {
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

fn reference_view(levels: u64) -> Option<SummaryView> {
    let seed = seed_result(levels)?;
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
fn summary_table(rows: &[SummaryRow]) -> Vec<SummaryView> {
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        out.push(summary_view(row));
        let last_of_its_levels = rows[i + 1..].iter().all(|r| r.levels != row.levels);
        if last_of_its_levels && let Some(reference) = row.levels.and_then(reference_view) {
            out.push(reference);
        }
    }
    out
}

fn config_view(
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
    let seeds: BTreeSet<u64> = members.iter().filter_map(|r| r.seed()).collect();
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
        pictures_from: String::new(),
        samples: None,
        completion: None,
        sample_evolution: Vec::new(),
        completion_evolution: Vec::new(),
    };
    let Some(run) = source else { return view };
    view.pictures_from =
        format!("run {} (seed {})", short(&run.detail.id), run.seed().map_or("?".into(), |s| s.to_string()));
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

fn problem_view(run: &RunData, configs: &[Configuration], index: usize) -> ProblemView {
    let label =
        configs.iter().find(|c| c.runs.contains(&index)).map_or_else(String::new, |c| c.label.clone());
    ProblemView {
        run: run.detail.id.clone(),
        label,
        seed: run.seed().map_or("-".into(), |s| s.to_string()),
        status: run.detail.status.as_str().into(),
        progress: format!(
            "epoch {} of {}",
            run.last_epoch().map_or(0, |e| e.epoch),
            run.detail.run.epochs_target
        ),
        error: run.detail.error.clone().unwrap_or_default(),
    }
}

fn environment(runs: &[RunData]) -> Vec<Fact> {
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
    let seeds: BTreeSet<u64> = runs.iter().filter_map(RunData::seed).collect();
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

fn commits(runs: &[RunData]) -> String {
    distinct(runs.iter().map(|r| {
        r.detail.run.git_commit.as_ref().map(|c| {
            let dirty = if r.detail.run.git_dirty == Some(true) { " (dirty)" } else { "" };
            format!("{}{dirty}", c.chars().take(12).collect::<String>())
        })
    }))
}

fn reruns(runs: &[RunData]) -> Vec<Fact> {
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

fn header(data: &ExperimentData) -> Vec<Fact> {
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

impl Report {
    /// Builds the report of `data`; `generated_at` is shown in the header.
    pub fn build(data: &ExperimentData, generated_at: &str) -> Result<Report> {
        let runs = &data.runs;
        let configs = configs::group(runs);
        let summary: Vec<SummaryRow> = configs.iter().map(|c| summarise(c, runs)).collect();
        let mut files = Vec::new();
        let curves = learning_curves(&configs, runs)
            .into_iter()
            .map(|p| figure(p, &mut files))
            .collect::<Result<Vec<_>>>()?;
        let parameters = final_against_parameters(&configs, runs)
            .into_iter()
            .map(|p| figure(p, &mut files))
            .collect::<Result<Vec<_>>>()?;
        let diff_keys: Vec<String> = differing_keys(runs.iter().map(|r| &r.detail.run.config))
            .into_iter()
            .filter(|k| k != "seed")
            .collect();
        let configurations = configs.iter().map(|c| config_view(c, runs, &diff_keys, &mut files)).collect();
        let searches = searches(&data.rungs, &data.searches, runs, &configs)
            .into_iter()
            .map(|(rungs, panel)| Ok(SearchView { rungs, survivors: figure(panel, &mut files)? }))
            .collect::<Result<Vec<_>>>()?;
        let in_progress = runs.iter().filter(|r| r.in_progress()).count();
        let mut notes = vec![Note::FinalNumbers];
        if configs.iter().any(|c| c.levels == Some(2)) {
            notes.push(Note::Threshold);
        }
        if searches.iter().any(|s| s.rungs.optimistic) {
            notes.push(Note::Optimistic);
        }
        if configs.iter().any(Configuration::conditional) {
            notes.push(Note::Conditional);
        }
        let view = ReportView {
            name: data.experiment.name.clone(),
            description: data.experiment.description.clone(),
            generated_at: generated_at.into(),
            header: header(data),
            in_progress,
            best_on_test: summary.iter().any(|r| r.best_by == Some(BestBy::TestSet)),
            summary: summary_table(&summary),
            families: compare_families(&summary),
            curves,
            parameters,
            searches,
            diff_keys,
            configurations,
            base_config: runs.first().map(|r| r.detail.run.config_toml.clone()).unwrap_or_default(),
            problems: runs
                .iter()
                .enumerate()
                .filter(|(_, r)| !matches!(r.detail.status, RunStatus::Finished | RunStatus::Pruned))
                .map(|(i, r)| problem_view(r, &configs, i))
                .collect(),
            environment: environment(runs),
            reruns: reruns(runs),
            notes,
            empty: runs.is_empty(),
        };
        Ok(Report { view, files, summary })
    }
}
