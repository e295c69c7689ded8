//! `pixelcnn compare`: any number of runs side by side, the first the baseline, as rows for a
//! terminal table and as an HTML page. Each run gets a letter (A, B, C, ...) and every other run's
//! numbers are also given as its difference to A.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pixelcnn_record::{ArtefactKind, Best, BestBy, EpochMetrics, best_epoch};
use serde::Serialize;
use serde_json::Value;

use crate::configs::{Configuration, differing_keys, display, flatten};
use crate::curves::learning_curves;
use crate::error::{ReportError, Result};
use crate::load::RunData;
use crate::output::write_pages;
use crate::render::render;
use crate::view::{FigureView, ImageView, Note};

/// The most runs one comparison holds: one letter each.
pub const MAX_COMPARED: usize = 26;

/// Runs to compare, the first the baseline.
#[derive(Clone, Debug)]
pub struct Comparison {
    runs: Vec<RunData>,
}

#[derive(Serialize)]
struct CompareView {
    title: String,
    generated_at: String,
    notes: Vec<Note>,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    curves: Vec<FigureView>,
    epoch_header: Vec<String>,
    epochs: Vec<Vec<String>>,
    pictures: Vec<ImageView>,
}

fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

fn number(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"))
}

fn delta(a: Option<f64>, b: Option<f64>, decimals: usize) -> String {
    match (a, b) {
        (Some(a), Some(b)) => format!("{:+.decimals$}", b - a),
        _ => "-".into(),
    }
}

/// The letter of the `i`-th run.
fn letter(i: usize) -> char {
    char::from(b'A' + u8::try_from(i).expect("at most MAX_COMPARED runs"))
}

impl Comparison {
    /// Compares `runs`, the first the baseline: at least two, at most [`MAX_COMPARED`], each once.
    pub fn new(runs: Vec<RunData>) -> Result<Self> {
        let mut ids: Vec<&str> = runs.iter().map(|r| r.detail.id.as_str()).collect();
        ids.sort_unstable();
        let repeated = ids.windows(2).find(|w| w[0] == w[1]).map(|w| w[0].to_owned());
        let problem = match (runs.len(), repeated) {
            (n, _) if n < 2 => Some(format!("{n} run given: a comparison needs two or more")),
            (n, _) if n > MAX_COMPARED => {
                Some(format!("{n} runs given: at most {MAX_COMPARED} fit one comparison"))
            }
            (_, Some(id)) => Some(format!("run {id} is named twice")),
            _ => None,
        };
        match problem {
            Some(message) => Err(ReportError::Comparison { message }),
            None => Ok(Self { runs }),
        }
    }

    /// The runs, the baseline first.
    pub fn runs(&self) -> &[RunData] {
        &self.runs
    }

    /// `A 1a2b3c4d`, `B ...`: the runs' columns.
    fn names(&self) -> Vec<String> {
        self.runs.iter().enumerate().map(|(i, r)| format!("{} {}", letter(i), short(&r.detail.id))).collect()
    }

    /// `B - A`, `C - A`, ...: the difference columns.
    fn deltas(&self) -> Vec<String> {
        (1..self.runs.len()).map(|i| format!("{} - A", letter(i))).collect()
    }

    /// Column titles of [`Comparison::rows`].
    pub fn header(&self) -> Vec<String> {
        let mut header = vec![String::new()];
        header.extend(self.names());
        header.extend(self.deltas());
        header
    }

    /// A row of text values, one per run, with empty difference cells.
    fn text_row(&self, name: &str, values: impl IntoIterator<Item = String>) -> Vec<String> {
        let mut row = vec![name.to_owned()];
        row.extend(values);
        row.extend(std::iter::repeat_n(String::new(), self.runs.len() - 1));
        row
    }

    /// [`Comparison::text_row`] of each run's `value`.
    fn runs_row(&self, name: &str, value: impl Fn(&RunData) -> String) -> Vec<String> {
        self.text_row(name, self.runs.iter().map(value))
    }

    /// A row of numbers, with each run's difference to the baseline.
    fn number_row(
        &self,
        name: &str,
        value: impl Fn(&RunData) -> Option<f64>,
        decimals: usize,
    ) -> Vec<String> {
        let values: Vec<Option<f64>> = self.runs.iter().map(value).collect();
        let mut row = vec![name.to_owned()];
        row.extend(values.iter().map(|v| number(*v, decimals)));
        row.extend(values[1..].iter().map(|v| delta(values[0], *v, decimals)));
        row
    }

    /// The comparison as table rows: identity, the configuration keys that differ, final numbers
    /// and their differences to the baseline.
    pub fn rows(&self) -> Vec<Vec<String>> {
        let mut rows = vec![
            self.runs_row("experiment", |r| r.detail.experiment.clone()),
            self.runs_row("status", |r| r.detail.status.as_str().into()),
            self.runs_row("config_hash", |r| short(&r.detail.run.config_hash)),
        ];
        let flat: Vec<BTreeMap<String, Value>> =
            self.runs.iter().map(|r| flatten(&r.detail.run.config)).collect();
        for key in differing_keys(self.runs.iter().map(|r| &r.detail.run.config)) {
            let values = flat.iter().map(|f| f.get(&key).map_or("-".into(), display));
            rows.push(self.text_row(&format!("config {key}"), values));
        }
        type Metric = (&'static str, fn(&EpochMetrics) -> f64, usize);
        let metrics: [Metric; 4] = [
            ("final test bits/dim", |e| e.test_bits_per_dim, 4),
            ("final test nats/pixel", |e| e.test_nll, 4),
            ("final test nats/image", |e| e.test_nats_per_image, 2),
            ("final train nats/pixel", |e| e.train_nll, 4),
        ];
        for (name, metric, decimals) in metrics {
            rows.push(self.number_row(name, |r| r.last_epoch().map(metric), decimals));
        }
        rows.push(self.runs_row("epochs", |r| r.last_epoch().map_or(0, |e| e.epoch).to_string()));
        rows.push(self.runs_row("best epoch", |r| match best_epoch(&r.epochs) {
            Some(Best { epoch, by: BestBy::Validation }) => format!("{epoch} (validation)"),
            Some(Best { epoch, by: BestBy::TestSet }) => format!("{epoch} (test set)"),
            None => "-".into(),
        }));
        rows.push(self.number_row("train time (s)", |r| Some(r.epochs.iter().map(|e| e.seconds).sum()), 1));
        rows.push(self.runs_row("device", |r| {
            format!(
                "{} / {} threads",
                r.detail.device.as_deref().unwrap_or("-"),
                r.detail.threads.map_or("-".into(), |t| t.to_string())
            )
        }));
        rows
    }

    /// Column titles of [`Comparison::epoch_rows`].
    pub fn epoch_header(&self) -> Vec<String> {
        let letters: Vec<char> = (0..self.runs.len()).map(letter).collect();
        let mut header = vec!["epoch".to_owned()];
        header.extend(letters.iter().map(|l| format!("{l} test bits/dim")));
        header.extend(self.deltas());
        header.extend(letters.iter().map(|l| format!("{l} train nats")));
        header
    }

    /// Per-epoch test bits/dim (and their differences to the baseline) and training NLL of every
    /// run, over the epochs any reached.
    pub fn epoch_rows(&self) -> Vec<Vec<String>> {
        let last = self.runs.iter().filter_map(|r| r.last_epoch()).map(|e| e.epoch).max().unwrap_or(0);
        (1..=last)
            .filter_map(|epoch| {
                let at: Vec<Option<&EpochMetrics>> =
                    self.runs.iter().map(|r| r.epochs.iter().find(|e| e.epoch == epoch)).collect();
                if at.iter().all(Option::is_none) {
                    return None;
                }
                let bpd: Vec<Option<f64>> = at.iter().map(|e| e.map(|e| e.test_bits_per_dim)).collect();
                let mut row = vec![epoch.to_string()];
                row.extend(bpd.iter().map(|v| number(*v, 5)));
                row.extend(bpd[1..].iter().map(|v| delta(bpd[0], *v, 5)));
                row.extend(at.iter().map(|e| number(e.map(|e| e.train_nll), 5)));
                Some(row)
            })
            .collect()
    }

    /// Writes `index.html` (self-contained) and the SVG figures into `dir`.
    pub fn write_html(&self, dir: &Path, generated_at: &str) -> Result<PathBuf> {
        let runs = &self.runs;
        let configs: Vec<Configuration> = runs
            .iter()
            .zip(self.names())
            .enumerate()
            .map(|(i, (r, label))| Configuration {
                number: i + 1,
                label,
                varying: Default::default(),
                variant: String::new(),
                runs: vec![i],
                levels: r.levels(),
                family: r.family(),
                condition: r.condition(),
            })
            .collect();
        // Reruns are shown like any run here: comparing a rerun with its original is the point.
        let mut plain = runs.to_vec();
        for run in &mut plain {
            run.detail.run.rerun_of = None;
        }
        let mut files = Vec::new();
        let mut curves = Vec::new();
        for named in learning_curves(&configs, &plain) {
            curves.push(crate::view::figure(named, &mut files)?);
        }
        let mut pictures = Vec::new();
        for (config, run) in configs.iter().zip(runs) {
            for kind in [ArtefactKind::Samples, ArtefactKind::Completion] {
                if let Some(p) = run.last_picture(kind) {
                    let caption = format!("{}: {kind} after epoch {}", config.label, p.epoch);
                    pictures.push(crate::view::image_view(p, caption));
                }
            }
        }
        let mut notes = Vec::new();
        if runs.iter().any(|r| r.levels().get() == 2) {
            notes.push(Note::Threshold);
        }
        if runs.iter().any(|r| r.levels() != runs[0].levels()) {
            notes.push(Note::DifferentLevels);
        }
        let view = CompareView {
            title: runs.iter().map(|r| short(&r.detail.id)).collect::<Vec<_>>().join(" vs "),
            generated_at: generated_at.into(),
            notes,
            header: self.header(),
            rows: self.rows(),
            curves,
            epoch_header: self.epoch_header(),
            epochs: self.epoch_rows(),
            pictures,
        };
        let html = render("compare.html", &view)?;
        write_pages(dir, &[("index.html", html)], &files)?;
        Ok(dir.join("index.html"))
    }
}
