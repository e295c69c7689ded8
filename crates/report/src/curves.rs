//! The experiment's figures as panels: learning curves per number of levels, and final bits/dim
//! against each swept numeric key.

use std::collections::{BTreeMap, BTreeSet};

use pixelcnn_config::Levels;
use pixelcnn_record::{EpochMetrics, RunStatus};
use serde_json::Value;

use crate::configs::{Configuration, display};
use crate::figures::{BandPoint, Line, Panel};
use crate::load::RunData;
use crate::stats::Spread;

/// A metric of an epoch as plotted, in the unit the panel names.
#[derive(Clone, Copy, Debug)]
enum Unit {
    NatsPerPixel,
    BitsPerDim,
}

impl Unit {
    fn scale(self) -> f64 {
        match self {
            Unit::NatsPerPixel => 1.0,
            Unit::BitsPerDim => 1.0 / std::f64::consts::LN_2,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::NatsPerPixel => "NLL (nats/pixel)",
            Unit::BitsPerDim => "bits/dim",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Unit::NatsPerPixel => "nats",
            Unit::BitsPerDim => "bpd",
        }
    }
}

/// A figure with the file name it gets next to `report.md` (built from numbers and fixed words).
#[derive(Clone, Debug)]
pub struct NamedPanel {
    /// File name without folder, e.g. `curves-q2-bpd.svg`.
    pub file: String,
    /// The panel.
    pub panel: Panel,
}

fn levels_title(levels: Option<Levels>) -> String {
    levels.map_or_else(|| "unknown q".into(), |q| format!("q = {q}"))
}

fn levels_slug(levels: Option<Levels>) -> String {
    levels.map_or_else(|| "qx".into(), |q| format!("q{q}"))
}

/// Mean, low and high over seeds at each epoch any of `runs` reached.
fn banded(runs: &[&RunData], value: impl Fn(&EpochMetrics) -> f64) -> Vec<BandPoint> {
    let mut by_epoch: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for run in runs {
        for e in &run.epochs {
            let v = value(e);
            if v.is_finite() {
                by_epoch.entry(e.epoch).or_default().push(v);
            }
        }
    }
    by_epoch
        .into_iter()
        .map(|(epoch, values)| BandPoint {
            x: f64::from(epoch),
            y: Spread::of(&values).map_or(f64::NAN, |s| s.mean),
            low: values.iter().copied().fold(f64::INFINITY, f64::min),
            high: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
        .collect()
}

fn originals<'a>(config: &Configuration, runs: &'a [RunData]) -> Vec<&'a RunData> {
    config.runs.iter().map(|&i| &runs[i]).filter(|r| r.detail.run.rerun_of.is_none()).collect()
}

/// Learning curves: for each number of levels its own panels (2-level and 256-level NLLs live on
/// different scales), in nats/pixel and in bits/dim; test solid, train dashed, bands over seeds.
pub fn learning_curves(configs: &[Configuration], runs: &[RunData]) -> Vec<NamedPanel> {
    let levels: BTreeSet<Levels> = configs.iter().map(|c| c.levels).collect();
    let mut panels = Vec::new();
    for q in levels {
        for unit in [Unit::NatsPerPixel, Unit::BitsPerDim] {
            let mut lines = Vec::new();
            for config in configs.iter().filter(|c| c.levels == q) {
                let members = originals(config, runs);
                let scale = unit.scale();
                for (dashed, which) in [(false, "test"), (true, "train")] {
                    let points = banded(&members, |e| scale * if dashed { e.train_nll } else { e.test_nll });
                    if !points.is_empty() {
                        let label = format!("#{} {which}: {}", config.number, config.label);
                        lines.push(Line { label, colour: config.number - 1, dashed, points });
                    }
                }
            }
            panels.push(NamedPanel {
                file: format!("curves-{}-{}.svg", levels_slug(Some(q)), unit.slug()),
                panel: Panel {
                    title: format!("{}: {} per epoch", levels_title(Some(q)), unit.name()),
                    x_label: "epoch".into(),
                    y_label: unit.name().into(),
                    whole_x: true,
                    lines,
                    ..Panel::default()
                },
            });
        }
    }
    panels
}

/// Final test bits/dim of finished runs against each swept numeric key: one line per setting of
/// the other swept keys (band over seeds, a dot per run), a panel per `q` unless `q` is the key.
pub fn final_against_parameters(configs: &[Configuration], runs: &[RunData]) -> Vec<NamedPanel> {
    let keys: BTreeSet<&String> = configs.iter().flat_map(|c| c.varying.keys()).collect();
    let mut panels = Vec::new();
    for (key_index, key) in keys.into_iter().enumerate() {
        let numeric = configs.iter().all(|c| c.varying.get(key).is_some_and(Value::is_number));
        let xs: Vec<f64> =
            configs.iter().filter_map(|c| c.varying.get(key).and_then(Value::as_f64)).collect();
        let distinct: BTreeSet<u64> = xs.iter().map(|x| x.to_bits()).collect();
        if !numeric || distinct.len() < 2 {
            continue;
        }
        let (min, max) =
            xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        let log_x = min > 0.0 && max / min >= 50.0;
        let to_x = |x: f64| if log_x { x.log10() } else { x };
        let split_by_levels = key != "model.levels";
        let levels: BTreeSet<Option<Levels>> = if split_by_levels {
            configs.iter().map(|c| Some(c.levels)).collect()
        } else {
            BTreeSet::from([None])
        };
        for q in levels {
            let members: Vec<&Configuration> =
                configs.iter().filter(|c| q.is_none_or(|q| c.levels == q)).collect();
            // Lines: configurations that agree on every swept key but this one.
            let mut lines: BTreeMap<String, Vec<&Configuration>> = BTreeMap::new();
            for c in &members {
                let mut others: Vec<String> = c
                    .varying
                    .iter()
                    .filter(|(k, _)| *k != key)
                    .map(|(k, v)| format!("{k} = {}", display(v)))
                    .collect();
                // Configurations that differ in unswept keys (another profile) are other lines.
                if !c.variant.is_empty() {
                    others.push(format!("[{}]", c.variant));
                }
                lines.entry(others.join(", ")).or_default().push(c);
            }
            let mut panel = Panel {
                title: format!(
                    "final test bits/dim vs {key}{}",
                    if split_by_levels { format!(" ({})", levels_title(q)) } else { String::new() }
                ),
                x_label: if log_x { format!("{key} (log scale)") } else { key.clone() },
                y_label: "bits/dim".into(),
                log_x,
                whole_x: !log_x && xs.iter().all(|x| x.fract() == 0.0),
                ..Panel::default()
            };
            for (line_index, (others, group)) in lines.into_iter().enumerate() {
                let mut points = Vec::new();
                for c in &group {
                    let x = to_x(c.varying[key].as_f64().unwrap_or(f64::NAN));
                    let finals: Vec<f64> = originals(c, runs)
                        .into_iter()
                        .filter(|r| r.detail.status == RunStatus::Finished)
                        .filter_map(|r| r.last_epoch().map(|e| e.test_bits_per_dim))
                        .filter(|v| v.is_finite())
                        .collect();
                    panel.points.extend(finals.iter().map(|&y| (x, y, line_index)));
                    if let Some(s) = Spread::of(&finals) {
                        let low = finals.iter().copied().fold(f64::INFINITY, f64::min);
                        let high = finals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        points.push(BandPoint { x, y: s.mean, low, high });
                    }
                }
                points.sort_by(|a, b| a.x.total_cmp(&b.x));
                if !points.is_empty() {
                    let label = if others.is_empty() { "mean over seeds".into() } else { others };
                    panel.lines.push(Line { label, colour: line_index, dashed: false, points });
                }
            }
            panels.push(NamedPanel {
                file: format!("final-bpd-vs-key{}-{}.svg", key_index + 1, levels_slug(q)),
                panel,
            });
        }
    }
    panels
}
