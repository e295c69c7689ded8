//! Model families side by side: when an experiment trains more than one architecture (the seed's
//! PixelCNN, the gated PixelCNN, unconditional or conditioned on the label), each configuration's
//! final bits/dim is set against the seed's PixelCNN trained on the same number of levels in the
//! same experiment.

use pixelcnn_config::{Condition, ModelFamily};
use serde::Serialize;

use crate::summary::SummaryRow;

/// The family every other is measured against.
const BASELINE: (ModelFamily, Condition) = (ModelFamily::PixelCnn, Condition::None);

/// One configuration's row of the family comparison, formatted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FamilyView {
    /// Its levels `q`.
    pub levels: String,
    /// Its configuration number.
    pub number: String,
    /// Its model family.
    pub family: ModelFamily,
    /// What it is conditioned on.
    pub condition: Condition,
    /// Final test bits/dim, mean ± std over seeds.
    pub bits_per_dim: String,
    /// The difference of the mean to the seed's PixelCNN at the same `q`: `-0.0123 (-1.4%)`,
    /// `baseline` for that configuration, `-` without one.
    pub versus_pixelcnn: String,
    /// Training images per second.
    pub images_per_second: String,
    /// Training time per run, seconds.
    pub train_time: String,
}

/// The comparison rows, grouped by levels, then family and condition (the seed's PixelCNN first);
/// empty when the experiment trains a single family and condition.
pub fn compare_families(rows: &[SummaryRow]) -> Vec<FamilyView> {
    let architectures: std::collections::BTreeSet<(ModelFamily, Condition)> =
        rows.iter().map(|r| (r.family, r.condition)).collect();
    if architectures.len() < 2 {
        return Vec::new();
    }
    let mut sorted: Vec<&SummaryRow> = rows.iter().collect();
    let rank = |r: &SummaryRow| (r.family, r.condition) != BASELINE;
    sorted.sort_by(|a, b| {
        (a.levels, rank(a), a.family, a.condition, a.configuration).cmp(&(
            b.levels,
            rank(b),
            b.family,
            b.condition,
            b.configuration,
        ))
    });
    sorted
        .iter()
        .map(|row| {
            let baseline = rows.iter().find(|r| {
                r.levels == row.levels && (r.family, r.condition) == BASELINE && r.bits_per_dim.is_some()
            });
            let versus_pixelcnn = match (baseline, row.bits_per_dim) {
                (Some(base), _) if base.configuration == row.configuration => "baseline".into(),
                (Some(base), Some(own)) => {
                    let base = base.bits_per_dim.expect("found with a value").mean;
                    let difference = own.mean - base;
                    format!("{difference:+.4} ({:+.1}%)", 100.0 * difference / base)
                }
                _ => "-".into(),
            };
            FamilyView {
                levels: row.levels.to_string(),
                number: row.configuration.to_string(),
                family: row.family,
                condition: row.condition,
                bits_per_dim: row.bits_per_dim.map_or_else(|| "-".into(), |s| s.format(4)),
                versus_pixelcnn,
                images_per_second: row.images_per_second.map_or_else(|| "-".into(), |s| s.format(1)),
                train_time: row.train_seconds.map_or_else(|| "-".into(), |s| s.format(1)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Spread;

    fn row(
        configuration: usize,
        levels: usize,
        family: &str,
        condition: &str,
        bpd: Option<f64>,
    ) -> SummaryRow {
        SummaryRow {
            configuration,
            label: format!("#{configuration}"),
            levels: pixelcnn_config::Levels::new(levels).unwrap(),
            family: family.parse().unwrap(),
            condition: condition.parse().unwrap(),
            finished: 1,
            repeats: 0,
            runs: 1,
            pruned: 0,
            seeds: vec![1],
            bits_per_dim: bpd.and_then(|v| Spread::of(&[v])),
            nats_per_pixel: None,
            nats_per_image: None,
            best_epochs: vec![],
            best_by: None,
            train_seconds: Spread::of(&[10.0]),
            images_per_second: Spread::of(&[50.0]),
            recipe: String::new(),
        }
    }

    #[test]
    fn families_are_measured_against_the_pixelcnn_of_their_levels() {
        let rows = [
            row(1, 256, "gated", "label", Some(0.85)),
            row(2, 2, "gated", "none", Some(0.09)),
            row(3, 256, "pixelcnn", "none", Some(1.0)),
            row(4, 2, "pixelcnn", "none", Some(0.1)),
            row(5, 256, "gated", "none", None),
        ];
        let view = compare_families(&rows);
        let order: Vec<(&str, &str)> = view.iter().map(|v| (v.levels.as_str(), v.number.as_str())).collect();
        // The baseline first, then the families and conditions in their declaration order.
        assert_eq!(order, [("2", "4"), ("2", "2"), ("256", "3"), ("256", "5"), ("256", "1")]);
        let versus: Vec<&str> = view.iter().map(|v| v.versus_pixelcnn.as_str()).collect();
        assert_eq!(versus, ["baseline", "-0.0100 (-10.0%)", "baseline", "-", "-0.1500 (-15.0%)"]);
    }

    #[test]
    fn one_family_needs_no_comparison() {
        let rows = [row(1, 2, "pixelcnn", "none", Some(0.1)), row(2, 256, "pixelcnn", "none", Some(1.0))];
        assert!(compare_families(&rows).is_empty());
    }
}
