//! The rungs of a successive-halving search (ASHA or SHA), read back from its recorded decisions:
//! which run stopped where, its metric and rank at each rung it reached, the epochs the search
//! trained against training every run to the end, and the survivors' curves of the metric the rungs compared.

use std::collections::{BTreeMap, BTreeSet};

use pixelcnn_record::{Promotion, RunStatus, RungDecision, RungMetric};
use pixelcnn_store::{RungRecord, Search};
use serde::Serialize;

use crate::configs::Configuration;
use crate::curves::NamedPanel;
use crate::figures::{BandPoint, Line, Panel};
use crate::load::RunData;

/// One run of the search: its decisions at the rungs it reached, and where it ended.
#[derive(Clone, Debug, Serialize)]
pub struct RungRowView {
    /// Run id (short).
    pub run: String,
    /// Its configuration.
    pub label: String,
    /// Its seed.
    pub seed: String,
    /// One cell per rung of the table: `0.1234, 2nd of 5: continue`, or empty when not reached.
    pub cells: Vec<String>,
    /// Where it ended: `pruned at epoch 3`, `trained to epoch 9`, `running (epoch 4)`, ...
    pub outcome: String,
    /// Whether a rung stopped it.
    pub pruned: bool,
}

/// What the report shows of a search's rungs.
#[derive(Clone, Debug, Serialize)]
pub struct RungsView {
    /// The search (the start of its id): an experiment run with two profiles, or other ASHA
    /// settings, holds two searches whose runs were never ranked against each other.
    pub search: String,
    /// The metric compared, as a person reads it.
    pub metric: String,
    /// How its rungs decided, in one sentence that names the strategy (ASHA or SHA) and what
    /// each cell's rank is out of.
    pub rule: String,
    /// The rungs compared the test NLL: the survivors' test numbers are optimistic.
    pub optimistic: bool,
    /// The rung epochs, one column each.
    pub epochs: Vec<u32>,
    /// The search's runs, in the order they reached the first rung.
    pub rows: Vec<RungRowView>,
    /// The counts and the epochs trained, in one sentence.
    pub summary: String,
}

/// One view and survivors' panel per search of the experiment, in the order the searches first
/// decided (none when it ran no search). `settings` are the searches', by id; a search missing
/// there (a database from before SHA) is asynchronous.
pub fn searches(
    records: &[RungRecord],
    settings: &BTreeMap<String, Search>,
    runs: &[RunData],
    configs: &[Configuration],
) -> Vec<(RungsView, NamedPanel)> {
    let mut order: Vec<&str> = Vec::new();
    for r in records {
        if !order.contains(&r.search_id.as_str()) {
            order.push(&r.search_id);
        }
    }
    order
        .iter()
        .map(|id| {
            let own: Vec<RungRecord> = records.iter().filter(|r| r.search_id == *id).cloned().collect();
            let (view, mut panel) = rungs(&own, settings.get(*id), runs, configs);
            if order.len() > 1 {
                panel.file = format!("asha-survivors-{}.svg", view.search);
                panel.panel.title = format!("Search {}: {}", view.search, panel.panel.title);
            }
            (view, panel)
        })
        .collect()
}

/// The rungs of one search's runs (`records` not empty, all of the search), with the survivors'
/// panel.
fn rungs(
    records: &[RungRecord],
    settings: Option<&Search>,
    runs: &[RunData],
    configs: &[Configuration],
) -> (RungsView, NamedPanel) {
    let first = &records[0];
    let metric = first.metric;
    let epochs: Vec<u32> = records.iter().map(|r| r.epoch).collect::<BTreeSet<_>>().into_iter().collect();
    // Runs in the order they reached the first rung (records come in decision order).
    let mut order: Vec<&str> = Vec::new();
    for r in records {
        if !order.contains(&r.run_id.as_str()) {
            order.push(&r.run_id);
        }
    }
    let by_run: BTreeMap<&str, Vec<&RungRecord>> =
        order.iter().map(|id| (*id, records.iter().filter(|r| r.run_id == *id).collect())).collect();
    let mut rows = Vec::new();
    let mut members: Vec<(&RunData, Option<u32>, Option<usize>)> = Vec::new();
    for id in &order {
        let Some((index, run)) = runs.iter().enumerate().find(|(_, r)| r.detail.id == *id) else { continue };
        let decided = &by_run[id];
        let stop = decided.iter().find(|r| r.ranking.decision == RungDecision::Stop);
        let last = run.last_epoch().map_or(0, |e| e.epoch);
        let outcome = match (stop, run.detail.status) {
            (Some(s), _) => format!("pruned at epoch {}", s.epoch),
            (None, RunStatus::Finished) => format!("trained to epoch {last}"),
            (None, status) => {
                format!("{} (epoch {last} of {})", status.as_str(), run.detail.run.epochs_target)
            }
        };
        let cells = epochs
            .iter()
            .map(|e| decided.iter().find(|r| r.epoch == *e).map(|r| cell(r)).unwrap_or_default())
            .collect();
        let config = configs.iter().position(|c| c.runs.contains(&index));
        rows.push(RungRowView {
            run: run.detail.id.chars().take(8).collect(),
            label: config.map_or_else(String::new, |c| configs[c].label.clone()),
            seed: run.seed().to_string(),
            cells,
            outcome,
            pruned: stop.is_some(),
        });
        members.push((run, stop.map(|s| s.epoch), config));
    }
    let view = RungsView {
        search: first.search_id.chars().take(8).collect(),
        rule: rule(settings, &describe(metric)),
        metric: describe(metric),
        optimistic: metric.is_optimistic(),
        summary: summary(&members, &epochs),
        epochs,
        rows,
    };
    (view, survivors(metric, &members, configs))
}

/// What the rungs of the search with `settings` decided, comparing `metric` (`None`: a search
/// recorded before its settings were, asynchronous).
fn rule(settings: Option<&Search>, metric: &str) -> String {
    let (promotion, eta) = settings.map_or((Promotion::Asynchronous, "eta".to_owned()), |s| {
        (s.asha.promotion, s.asha.reduction_factor.to_string())
    });
    match promotion {
        Promotion::Asynchronous => format!(
            "ASHA (asynchronous promotion): at each rung a run continued only if its {metric} ranked \
             among the best of the runs recorded there when it arrived (each cell: the value, its rank of \
             the runs recorded then, the decision). Early arrivals face few rivals, so the search may \
             keep more runs than 1/{eta}; it suits many workers, which never wait."
        ),
        Promotion::Synchronous => format!(
            "SHA (synchronous successive halving): each rung was decided once every configuration still \
             in the search had reported there; runs waited, paused, and exactly the best 1/{eta} by {metric} \
             continued (each cell: the value, its rank among all of them, the decision). Its budget is \
             exact; it suits one machine or few workers."
        ),
    }
}

fn describe(metric: RungMetric) -> String {
    match metric {
        RungMetric::ValidationNll => "validation NLL (nats/pixel)".into(),
        RungMetric::TestNll => "test NLL (nats/pixel), chosen explicitly: optimistic".into(),
    }
}

/// `0.12345 · 2 of 5 · continue`: the value, its rank when it arrived, the decision.
fn cell(r: &RungRecord) -> String {
    let value = r.value.map_or_else(|| "missing".to_owned(), |v| format!("{v:.5}"));
    format!("{value} · {} of {} · {}", r.ranking.rank, r.ranking.recorded, r.ranking.decision)
}

/// How many runs stopped at each rung, and the epochs trained against every run to the end.
fn summary(members: &[(&RunData, Option<u32>, Option<usize>)], epochs: &[u32]) -> String {
    let mut stopped: BTreeMap<u32, usize> = BTreeMap::new();
    for (_, pruned, _) in members {
        if let Some(epoch) = pruned {
            *stopped.entry(*epoch).or_default() += 1;
        }
    }
    let pruned: Vec<String> =
        stopped.iter().map(|(epoch, n)| format!("{n} pruned at epoch {epoch}")).collect();
    let survivors = members.iter().filter(|(_, p, _)| p.is_none()).count();
    let trained: u64 = members.iter().map(|(r, _, _)| u64::from(r.last_epoch().map_or(0, |e| e.epoch))).sum();
    let full: u64 = members.iter().map(|(r, _, _)| u64::from(r.detail.run.epochs_target)).sum();
    let saved = if full > 0 { 100.0 * (1.0 - trained as f64 / full as f64) } else { 0.0 };
    format!(
        "{} runs reached the rungs at epochs {}: {}{}{survivors} not stopped. They trained {trained} epochs, \
         against {full} had every run trained to the end ({saved:.0}% fewer).",
        members.len(),
        epochs.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
        pruned.join(", "),
        if pruned.is_empty() { "" } else { "; " },
    )
}

/// The survivors' curves of the compared metric, one line per run; each pruned run is a dot where
/// it stopped.
fn survivors(
    metric: RungMetric,
    members: &[(&RunData, Option<u32>, Option<usize>)],
    configs: &[Configuration],
) -> NamedPanel {
    let mut panel = Panel {
        title: format!("Rungs: {} per epoch of the survivors (dots: runs pruned there)", metric.as_str()),
        x_label: "epoch".into(),
        y_label: format!("{} (nats/pixel)", metric.as_str()),
        whole_x: true,
        ..Panel::default()
    };
    for (run, pruned, config) in members {
        let colour = config.map_or(0, |c| configs[c].number - 1);
        let points: Vec<BandPoint> = run
            .epochs
            .iter()
            .filter_map(|e| metric.of(e).map(|y| BandPoint { x: f64::from(e.epoch), y, low: y, high: y }))
            .collect();
        if pruned.is_some() {
            panel.points.extend(points.last().map(|p| (p.x, p.y, colour)));
        } else if !points.is_empty() {
            let label =
                config.map_or_else(String::new, |c| format!("#{} {}", configs[c].number, configs[c].label));
            panel.lines.push(Line {
                label: format!("{label}, seed {}", run.seed()),
                colour,
                dashed: false,
                points,
            });
        }
    }
    NamedPanel { file: "asha-survivors.svg".into(), panel }
}
