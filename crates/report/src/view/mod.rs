//! What the templates show, as plain strings and lists: every number formatted here, every user
//! string passed through unchanged (the HTML template escapes it, the Markdown one too).
//!
//! `types.rs` holds what the templates read, `sections.rs` builds each section from the loaded
//! runs, and [`Report::build`] puts the page together; the words are in `templates/prose.txt`.

mod sections;
mod types;

use sections::{config_view, environment, header, problem_view, reruns, summary_table};
pub(crate) use sections::{figure, image_view};
pub use types::{ConfigView, Fact, FigureView, ImageView, OutputFile, ProblemView, SearchView, SummaryView};

use pixelcnn_record::{BestBy, RunStatus};
use serde::Serialize;

use crate::configs::{self, Configuration, differing_keys};
use crate::curves::{final_against_parameters, learning_curves};
use crate::error::Result;
use crate::families::{FamilyView, compare_families};
use crate::load::ExperimentData;
use crate::rungs::searches;
use crate::summary::{SummaryRow, summarise};

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
        if configs.iter().any(|c| c.levels.get() == 2) {
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
