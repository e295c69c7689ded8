//! `[search]` of an experiment file: how a sweep chooses its configurations (every point of the
//! grid, or `trials` drawn at random from it) and whether it stops the poor ones early by
//! successive halving: asynchronous (`strategy = "asha"`, each run decided as it reaches a rung)
//! or synchronous (`strategy = "sha"`, every run of a rung decided together). A profile's
//! `[profile.NAME.search]` overrides it key by key. The rung rules live in `pixelcnn_record::asha`.

use pixelcnn_record::{Asha, Promotion, RungMetric};
use serde::Serialize;
use sha2::{Digest, Sha256};
use toml::Value;

use crate::error::{ConfigError, Result};
use crate::hash::config_hash;
use crate::layers::closest;
use crate::run::RunConfig;
use crate::sweep::{MAX_RUNS, Trials};

/// Keys of `[search]`.
const SEARCH_KEYS: [&str; 7] =
    ["strategy", "trials", "seed", "metric", "reduction_factor", "grace_epochs", "max_epochs"];

/// Keys that only a successive-halving search (asha, sha) takes.
const ASHA_KEYS: [&str; 4] = ["metric", "reduction_factor", "grace_epochs", "max_epochs"];

/// Seed of the trials' draws when `[search] seed` is not given: fixed, so that a file always gives
/// the same trials.
pub const DEFAULT_TRIALS_SEED: u64 = 0;

/// How a sweep chooses and trains its configurations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Every configuration of the sweep's axes, each trained to `train.epochs`.
    #[default]
    Grid,
    /// `trials` configurations drawn from the axes, each trained to `train.epochs`.
    Random,
    /// The grid (or `trials` drawn from it), each run stopped at a rung unless it is among the best
    /// recorded there, the rest trained to `max_epochs`.
    Asha,
    /// As `Asha`, but each rung is decided once every run has reached it: exactly the best `1/eta`
    /// go on, the others are stopped.
    Sha,
}

impl Strategy {
    /// Its name in experiment files.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Grid => "grid",
            Strategy::Random => "random",
            Strategy::Asha => "asha",
            Strategy::Sha => "sha",
        }
    }
}

/// The search an experiment runs, resolved.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Search {
    /// `[search] strategy`.
    pub strategy: Strategy,
    /// The configurations are drawn at random (`random`, or `asha` / `sha` with `trials`).
    pub trials: Option<Trials>,
    /// The rung settings of a successive-halving search (asha or sha).
    pub asha: Option<Asha>,
    /// How many runs the full grid of the sweep's axes has, to set a search's budget against;
    /// `None` when an axis is a continuous range.
    pub grid_runs: Option<usize>,
}

impl Search {
    /// The id under which the store compares the runs of an ASHA search (none for other
    /// strategies): the experiment's name, the numeric identity of its base configuration with
    /// the data it reads, and the settings that place and judge the rungs. Rerunning the same file
    /// finds the same search (a restarted search continues, and values added to the grid join it
    /// as late arrivals); a profile or `--set` that changes the base configuration, or another
    /// metric, reduction factor or grace, starts a new one, whose runs are not ranked against
    /// these. `max_epochs` is left out, like `train.epochs`
    /// from a run's identity: raising it continues the search, its survivors training on through
    /// the rungs it adds.
    pub fn id(
        &self,
        experiment: &str,
        base: &RunConfig,
        data_checksums: &[(String, String)],
    ) -> Option<String> {
        let asha = self.asha?;
        let mut canonical = serde_json::json!({
            "experiment": experiment,
            "base": config_hash(base, data_checksums),
            "metric": asha.metric,
            "reduction_factor": asha.reduction_factor,
            "grace_epochs": asha.grace_epochs,
        });
        // Added only for the synchronous rule, so that ASHA searches recorded before it existed
        // keep their ids.
        if asha.promotion == Promotion::Synchronous {
            canonical["promotion"] = serde_json::json!(asha.promotion);
        }
        Some(hex::encode(Sha256::digest(canonical.to_string().as_bytes())))
    }
}

/// A value and the layer (the file, or a profile of it) that set it.
#[derive(Debug, Clone)]
struct Set<T> {
    value: T,
    origin: String,
}

impl<T> Set<T> {
    fn new(value: T, origin: &str) -> Self {
        Self { value, origin: origin.to_owned() }
    }
}

/// `[search]` as one layer writes it: every key optional.
#[derive(Debug, Clone, Default)]
pub(crate) struct SearchTable {
    strategy: Option<Set<Strategy>>,
    trials: Option<Set<usize>>,
    seed: Option<Set<u64>>,
    metric: Option<Set<RungMetric>>,
    reduction_factor: Option<Set<u32>>,
    grace_epochs: Option<Set<u32>>,
    max_epochs: Option<Set<u32>>,
}

impl SearchTable {
    /// Reads a `[search]` table of `origin` (a file, or one of its profiles), checking each key's
    /// type and range.
    pub(crate) fn read(origin: &str, value: Value) -> Result<Self> {
        let Value::Table(table) = value else {
            return Err(ConfigError::InvalidValue {
                origin: origin.into(),
                key: "search".into(),
                message: format!(
                    "expected a table, e.g. [search] strategy = \"asha\"; found {} {value}",
                    value.type_str()
                ),
            });
        };
        let mut out = SearchTable::default();
        for (key, value) in table {
            let full = format!("search.{key}");
            let bad = |message: String| ConfigError::InvalidValue {
                origin: origin.into(),
                key: full.clone(),
                message,
            };
            match key.as_str() {
                "strategy" => {
                    let name = string(&value).map_err(&bad)?;
                    let strategy = [Strategy::Grid, Strategy::Random, Strategy::Asha, Strategy::Sha]
                        .into_iter()
                        .find(|s| s.as_str() == name)
                        .ok_or_else(|| {
                            bad(format!("unknown strategy `{name}` (expected grid, random, asha or sha)"))
                        })?;
                    out.strategy = Some(Set::new(strategy, origin));
                }
                "trials" => {
                    out.trials =
                        Some(Set::new(whole(&value, 1, MAX_RUNS as i64).map_err(&bad)? as usize, origin))
                }
                "seed" => out.seed = Some(Set::new(whole(&value, 0, i64::MAX).map_err(&bad)? as u64, origin)),
                "metric" => {
                    let metric = string(&value).map_err(&bad)?.parse::<RungMetric>().map_err(&bad)?;
                    out.metric = Some(Set::new(metric, origin));
                }
                "reduction_factor" => {
                    out.reduction_factor = Some(Set::new(epochs_or_factor(&value, 2).map_err(&bad)?, origin));
                }
                "grace_epochs" => {
                    out.grace_epochs = Some(Set::new(epochs_or_factor(&value, 1).map_err(&bad)?, origin));
                }
                "max_epochs" => {
                    out.max_epochs = Some(Set::new(epochs_or_factor(&value, 1).map_err(&bad)?, origin));
                }
                _ => {
                    let candidates: Vec<String> = SEARCH_KEYS.iter().map(|k| format!("search.{k}")).collect();
                    return Err(ConfigError::UnknownKey {
                        origin: origin.into(),
                        suggestion: closest(&full, &candidates),
                        key: full,
                    });
                }
            }
        }
        Ok(out)
    }

    /// This layer with every key `over` sets replacing its own.
    pub(crate) fn overlaid(&self, over: &SearchTable) -> SearchTable {
        SearchTable {
            strategy: over.strategy.clone().or_else(|| self.strategy.clone()),
            trials: over.trials.clone().or_else(|| self.trials.clone()),
            seed: over.seed.clone().or_else(|| self.seed.clone()),
            metric: over.metric.clone().or_else(|| self.metric.clone()),
            reduction_factor: over.reduction_factor.clone().or_else(|| self.reduction_factor.clone()),
            grace_epochs: over.grace_epochs.clone().or_else(|| self.grace_epochs.clone()),
            max_epochs: over.max_epochs.clone().or_else(|| self.max_epochs.clone()),
        }
    }

    /// The keys this table sets besides `strategy`, with the layer that set each.
    fn given(&self) -> Vec<(&'static str, &str)> {
        [
            ("trials", self.trials.as_ref().map(|s| s.origin.as_str())),
            ("seed", self.seed.as_ref().map(|s| s.origin.as_str())),
            ("metric", self.metric.as_ref().map(|s| s.origin.as_str())),
            ("reduction_factor", self.reduction_factor.as_ref().map(|s| s.origin.as_str())),
            ("grace_epochs", self.grace_epochs.as_ref().map(|s| s.origin.as_str())),
            ("max_epochs", self.max_epochs.as_ref().map(|s| s.origin.as_str())),
        ]
        .into_iter()
        .filter_map(|(key, origin)| Some((key, origin?)))
        .collect()
    }

    /// The search these keys describe, for runs whose resolved `train.epochs` is `epochs` (the
    /// default of `max_epochs`). Keys that do not apply to the strategy are refused, naming them.
    pub(crate) fn resolve(&self, file: &str, epochs: usize) -> Result<Search> {
        let strategy = self.strategy.as_ref().map_or(Strategy::Grid, |s| s.value);
        let strategy_origin = self.strategy.as_ref().map_or(file, |s| s.origin.as_str());
        let not_for = |key: &str, origin: &str, applies: &str| ConfigError::InvalidValue {
            origin: origin.into(),
            key: format!("search.{key}"),
            message: format!("applies to {applies}, and this search is strategy = \"{}\"", strategy.as_str()),
        };
        for (key, origin) in self.given() {
            let asha_key = ASHA_KEYS.contains(&key);
            match strategy {
                Strategy::Grid if asha_key => {
                    return Err(not_for(key, origin, "strategy = \"asha\" or \"sha\""));
                }
                Strategy::Grid => {
                    return Err(not_for(
                        key,
                        origin,
                        "strategy = \"random\", \"asha\" or \"sha\" (draws trials)",
                    ));
                }
                Strategy::Random if asha_key => {
                    return Err(not_for(key, origin, "strategy = \"asha\" or \"sha\""));
                }
                _ => {}
            }
        }
        let trials = self.trials.as_ref().map(|t| Trials {
            count: t.value,
            seed: self.seed.as_ref().map_or(DEFAULT_TRIALS_SEED, |s| s.value),
        });
        if strategy == Strategy::Random && trials.is_none() {
            return Err(ConfigError::MissingKey {
                origin: strategy_origin.into(),
                key: "search.trials".into(),
                hint: "add trials = N, how many configurations to draw".into(),
            });
        }
        if let Some(seed) = self.seed.as_ref().filter(|_| trials.is_none()) {
            return Err(ConfigError::InvalidValue {
                origin: seed.origin.clone(),
                key: "search.seed".into(),
                message: "seeds the draws of trials; add trials = N, or leave seed out".into(),
            });
        }
        let promotion = match strategy {
            Strategy::Sha => Promotion::Synchronous,
            _ => Promotion::Asynchronous,
        };
        let asha = matches!(strategy, Strategy::Asha | Strategy::Sha).then(|| Asha {
            metric: self.metric.as_ref().map_or(RungMetric::ValidationNll, |m| m.value),
            reduction_factor: self.reduction_factor.as_ref().map_or(3, |r| r.value),
            grace_epochs: self.grace_epochs.as_ref().map_or(1, |g| g.value),
            max_epochs: self
                .max_epochs
                .as_ref()
                .map_or(u32::try_from(epochs).unwrap_or(u32::MAX), |m| m.value),
            promotion,
        });
        if let Some(a) = asha.filter(|a| a.rungs().is_empty()) {
            let origin =
                self.grace_epochs.as_ref().or(self.max_epochs.as_ref()).map_or(file, |s| s.origin.as_str());
            let max = if self.max_epochs.is_some() { "max_epochs" } else { "max_epochs (train.epochs)" };
            return Err(ConfigError::InvalidValue {
                origin: origin.into(),
                key: "search.grace_epochs".into(),
                message: format!(
                    "grace_epochs = {} leaves no rung below {max} = {}: no run would ever be stopped; \
                     lower grace_epochs or raise max_epochs",
                    a.grace_epochs, a.max_epochs
                ),
            });
        }
        Ok(Search { strategy, trials, asha, grid_runs: None })
    }

    /// Whether `max_epochs` was given (rather than taken from `train.epochs`).
    pub(crate) fn sets_max_epochs(&self) -> bool {
        self.max_epochs.is_some()
    }

    /// Where `metric` was set, or `file` when it was left at its default.
    pub(crate) fn metric_origin<'a>(&'a self, file: &'a str) -> &'a str {
        self.metric.as_ref().map_or(file, |m| m.origin.as_str())
    }
}

fn string(value: &Value) -> std::result::Result<&str, String> {
    value.as_str().ok_or_else(|| format!("expected a string, found {} {value}", value.type_str()))
}

/// A count of epochs, or the reduction factor: a whole number from `min` that fits a `u32`.
fn epochs_or_factor(value: &Value, min: i64) -> std::result::Result<u32, String> {
    whole(value, min, i64::from(u32::MAX)).map(|n| n as u32)
}

fn whole(value: &Value, min: i64, max: i64) -> std::result::Result<i64, String> {
    match value {
        Value::Integer(n) if (min..=max).contains(n) => Ok(*n),
        Value::Integer(n) => Err(format!("{n} is outside {min}..={max}")),
        other => Err(format!("expected a whole number, found {} {other}", other.type_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Result<SearchTable> {
        SearchTable::read("f.toml", toml::from_str::<Value>(text).unwrap())
    }

    #[test]
    fn defaults_and_max_epochs_from_train_epochs() {
        let asha = table("strategy = \"asha\"").unwrap().resolve("f.toml", 9).unwrap().asha.unwrap();
        assert_eq!(
            asha,
            Asha {
                metric: RungMetric::ValidationNll,
                reduction_factor: 3,
                grace_epochs: 1,
                max_epochs: 9,
                promotion: Promotion::Asynchronous
            }
        );
        let sha = table("strategy = \"sha\"").unwrap().resolve("f.toml", 9).unwrap();
        assert_eq!(sha.asha, Some(Asha { promotion: Promotion::Synchronous, ..asha }));
        assert_eq!(table("").unwrap().resolve("f.toml", 9).unwrap(), Search::default());
        let random = table("strategy = \"random\"\ntrials = 4").unwrap().resolve("f.toml", 9).unwrap();
        assert_eq!(random.trials, Some(Trials { count: 4, seed: DEFAULT_TRIALS_SEED }));
    }

    #[test]
    fn a_profile_overrides_key_by_key_and_is_named_in_errors() {
        let file = table("strategy = \"asha\"\nmax_epochs = 9\nreduction_factor = 2").unwrap();
        let profile =
            SearchTable::read("f.toml [profile.quick]", toml::from_str("max_epochs = 4").unwrap()).unwrap();
        let asha = file.overlaid(&profile).resolve("f.toml", 100).unwrap().asha.unwrap();
        assert_eq!((asha.max_epochs, asha.reduction_factor), (4, 2));
        let profile =
            SearchTable::read("f.toml [profile.quick]", toml::from_str("grace_epochs = 4").unwrap()).unwrap();
        let err = file.overlaid(&profile).overlaid(&table("max_epochs = 4").unwrap()).resolve("f.toml", 9);
        let shown = err.unwrap_err().to_string();
        assert!(shown.contains("f.toml [profile.quick]") && shown.contains("search.grace_epochs"), "{shown}");
    }

    #[test]
    fn ids_name_the_experiment_the_base_and_the_settings() {
        let search = table("strategy = \"asha\"").unwrap().resolve("f.toml", 9).unwrap();
        let base = RunConfig::default();
        let id = search.id("e", &base, &[]).unwrap();
        assert_eq!(search.id("e", &base, &[]).unwrap(), id, "stable");
        assert_ne!(search.id("f", &base, &[]).unwrap(), id);
        let mut other = base.clone();
        other.data.train_limit = Some(10);
        assert_ne!(search.id("e", &other, &[]).unwrap(), id);
        let mut longer = base.clone();
        longer.train.epochs = 3;
        assert_eq!(search.id("e", &longer, &[]).unwrap(), id, "train.epochs is not part of a run's identity");
        let eta2 = table("strategy = \"asha\"\nreduction_factor = 2").unwrap().resolve("f.toml", 9).unwrap();
        assert_ne!(eta2.id("e", &base, &[]).unwrap(), id);
        let longer = table("strategy = \"asha\"").unwrap().resolve("f.toml", 27).unwrap();
        assert_eq!(longer.id("e", &base, &[]).unwrap(), id, "raising max_epochs continues the search");
        assert_eq!(table("").unwrap().resolve("f.toml", 9).unwrap().id("e", &base, &[]), None);
        let sha = table("strategy = \"sha\"").unwrap().resolve("f.toml", 9).unwrap();
        assert_ne!(sha.id("e", &base, &[]).unwrap(), id, "the synchronous rule is another search");
    }
}
