//! `pixelcnn compare`: two runs side by side, as rows for a terminal table and as an HTML page.

use std::path::{Path, PathBuf};

use pixelcnn_record::{ArtefactKind, Best, BestBy, best_epoch};
use serde::Serialize;

use crate::configs::{Configuration, differing_keys, display, flatten};
use crate::curves::learning_curves;
use crate::error::Result;
use crate::load::RunData;
use crate::output::write_pages;
use crate::render::render;
use crate::view::{FigureView, ImageView, Note};

/// Two runs to compare, `a` the baseline.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The baseline run.
    pub a: RunData,
    /// The run compared with it.
    pub b: RunData,
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

impl Comparison {
    /// Column titles of [`Comparison::rows`].
    pub fn header(&self) -> Vec<String> {
        vec![
            "".into(),
            format!("A {}", short(&self.a.detail.id)),
            format!("B {}", short(&self.b.detail.id)),
            "B - A".into(),
        ]
    }

    /// The comparison as table rows: identity, the configuration keys that differ, final numbers
    /// and their differences.
    pub fn rows(&self) -> Vec<Vec<String>> {
        let (a, b) = (&self.a, &self.b);
        let mut rows = vec![
            vec![
                "experiment".into(),
                a.detail.experiment.clone(),
                b.detail.experiment.clone(),
                String::new(),
            ],
            vec![
                "status".into(),
                a.detail.status.as_str().into(),
                b.detail.status.as_str().into(),
                String::new(),
            ],
            vec![
                "config_hash".into(),
                short(&a.detail.run.config_hash),
                short(&b.detail.run.config_hash),
                String::new(),
            ],
        ];
        let (fa, fb) = (flatten(&a.detail.run.config), flatten(&b.detail.run.config));
        for key in differing_keys([&a.detail.run.config, &b.detail.run.config]) {
            let value = |f: &std::collections::BTreeMap<String, serde_json::Value>| {
                f.get(&key).map_or("-".into(), display)
            };
            rows.push(vec![format!("config {key}"), value(&fa), value(&fb), String::new()]);
        }
        type Metric = (&'static str, fn(&pixelcnn_record::EpochMetrics) -> f64, usize);
        let metrics: [Metric; 4] = [
            ("final test bits/dim", |e| e.test_bits_per_dim, 4),
            ("final test nats/pixel", |e| e.test_nll, 4),
            ("final test nats/image", |e| e.test_nats_per_image, 2),
            ("final train nats/pixel", |e| e.train_nll, 4),
        ];
        for (name, metric, decimals) in metrics {
            let va = a.last_epoch().map(metric);
            let vb = b.last_epoch().map(metric);
            rows.push(vec![name.into(), number(va, decimals), number(vb, decimals), delta(va, vb, decimals)]);
        }
        let epochs = |r: &RunData| r.last_epoch().map_or(0, |e| e.epoch);
        rows.push(vec!["epochs".into(), epochs(a).to_string(), epochs(b).to_string(), String::new()]);
        let best = |r: &RunData| match best_epoch(&r.epochs) {
            Some(Best { epoch, by: BestBy::Validation }) => format!("{epoch} (validation)"),
            Some(Best { epoch, by: BestBy::TestSet }) => format!("{epoch} (test set)"),
            None => "-".into(),
        };
        rows.push(vec!["best epoch".into(), best(a), best(b), String::new()]);
        let seconds = |r: &RunData| Some(r.epochs.iter().map(|e| e.seconds).sum::<f64>());
        rows.push(vec![
            "train time (s)".into(),
            number(seconds(a), 1),
            number(seconds(b), 1),
            delta(seconds(a), seconds(b), 1),
        ]);
        let device = |r: &RunData| {
            format!(
                "{} / {} threads",
                r.detail.device.as_deref().unwrap_or("-"),
                r.detail.threads.map_or("-".into(), |t| t.to_string())
            )
        };
        rows.push(vec!["device".into(), device(a), device(b), String::new()]);
        rows
    }

    /// Column titles of [`Comparison::epoch_rows`].
    pub fn epoch_header(&self) -> Vec<String> {
        ["epoch", "A test bits/dim", "B test bits/dim", "B - A", "A train nats", "B train nats"]
            .map(String::from)
            .to_vec()
    }

    /// Per-epoch test bits/dim and training NLL of both runs, over the epochs either reached.
    pub fn epoch_rows(&self) -> Vec<Vec<String>> {
        let last = |r: &RunData| r.last_epoch().map_or(0, |e| e.epoch);
        let find = |r: &RunData, epoch: u32| r.epochs.iter().find(|e| e.epoch == epoch).cloned();
        (1..=last(&self.a).max(last(&self.b)))
            .filter_map(|epoch| {
                let (ea, eb) = (find(&self.a, epoch), find(&self.b, epoch));
                if ea.is_none() && eb.is_none() {
                    return None;
                }
                let bpd = |e: &Option<pixelcnn_record::EpochMetrics>| e.as_ref().map(|e| e.test_bits_per_dim);
                let train = |e: &Option<pixelcnn_record::EpochMetrics>| e.as_ref().map(|e| e.train_nll);
                Some(vec![
                    epoch.to_string(),
                    number(bpd(&ea), 5),
                    number(bpd(&eb), 5),
                    delta(bpd(&ea), bpd(&eb), 5),
                    number(train(&ea), 5),
                    number(train(&eb), 5),
                ])
            })
            .collect()
    }

    /// Writes `index.html` (self-contained) and the SVG figures into `dir`.
    pub fn write_html(&self, dir: &Path, generated_at: &str) -> Result<PathBuf> {
        let runs = [self.a.clone(), self.b.clone()];
        let configs: Vec<Configuration> = runs
            .iter()
            .enumerate()
            .map(|(i, r)| Configuration {
                number: i + 1,
                label: format!("{} {}", ["A", "B"][i], short(&r.detail.id)),
                varying: Default::default(),
                variant: String::new(),
                runs: vec![i],
                levels: r.levels(),
                family: r.family(),
                condition: r.condition(),
            })
            .collect();
        // Reruns are shown like any run here: comparing a rerun with its original is the point.
        let mut plain = runs.clone();
        for run in &mut plain {
            run.detail.run.rerun_of = None;
        }
        let mut files = Vec::new();
        let mut curves = Vec::new();
        for named in learning_curves(&configs, &plain) {
            curves.push(crate::view::figure(named, &mut files)?);
        }
        let mut pictures = Vec::new();
        for (config, run) in configs.iter().zip(&runs) {
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
        if self.a.levels() != self.b.levels() {
            notes.push(Note::DifferentLevels);
        }
        let view = CompareView {
            title: format!("{} vs {}", short(&self.a.detail.id), short(&self.b.detail.id)),
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
