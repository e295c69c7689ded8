//! What the templates read: every number already formatted, every user string unchanged.

use serde::Serialize;

use crate::rungs::RungsView;

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
    /// The tags and notes people put on its runs, one line per labelled run.
    pub labels: Vec<String>,
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
