//! Planning an experiment: layering its file, a profile, the environment and `--set`, then
//! expanding the sweep into runs and fitting a search's budget.

use pixelcnn_record::RungMetric;

use crate::dotted_keys::flatten;
use crate::error::{ConfigError, Result};
use crate::layers::{Override, environment, extract, layered};
use crate::run::RunConfig;
use crate::search::Search;
use crate::sweep::{Axis, Entry, Expanded, PlannedRun, apply_profile, check_zip_lengths, expand, fix_key};

use super::parse::Parsed;

/// One layering of the file: the base configuration and the runs.
pub(super) struct Plan {
    pub(super) base: RunConfig,
    pub(super) axes: Vec<Axis>,
    pub(super) runs: Vec<PlannedRun>,
    pub(super) varying_keys: Vec<String>,
    pub(super) search: Search,
    pub(super) notes: Vec<String>,
}

impl Parsed {
    /// Layers the file with `profile`, the environment (when `env`) and `overrides`, and expands
    /// the sweep.
    pub(super) fn plan(&self, profile: Option<&str>, env: bool, overrides: &[Override]) -> Result<Plan> {
        let file = &self.file;
        let mut layers = vec![(file.clone(), self.base.clone())];
        let mut entries = self.sweep.clone();
        let mut notes = Vec::new();
        let mut search = self.search.clone();
        if let Some(name) = profile {
            let p = &self.profiles[name];
            search = search.overlaid(&p.search);
            layers.push((format!("{file} [profile.{name}]"), p.table.clone()));
            let swept: Vec<&str> =
                p.sweep.iter().flat_map(|e| e.members.iter().map(|m| m.key.as_str())).collect();
            for (key, value) in flatten(&toml::Value::Table(p.table.clone())) {
                if !swept.contains(&key.as_str()) {
                    fix_key(&mut entries, &key, &format!("[profile.{name}] {key} = {value}"), &mut notes);
                }
            }
            apply_profile(file, &mut entries, p.sweep.clone(), &mut notes)?;
        }
        check_zip_lengths(file, &entries)?;
        let mut base = extract(&layered(&layers, env, overrides))?;
        if env {
            for (var, key, value) in environment() {
                fix_key(&mut entries, &key, &format!("environment {var}={value}"), &mut notes);
            }
        }
        for o in overrides {
            fix_key(&mut entries, &o.key, &format!("--set {o}"), &mut notes);
        }
        let mut resolved = search.resolve(file, base.train.epochs)?;
        if let Some(asha) = resolved.asha {
            fit_to_asha(file, &entries, &mut base, asha.max_epochs, search.sets_max_epochs(), &mut notes)?;
        }
        let Expanded { axes, runs, varying_keys, grid_runs } =
            expand(file, entries, &base, resolved.trials.as_ref())?;
        resolved.grid_runs = grid_runs;
        if let Some(asha) = resolved.asha.filter(|a| a.metric == RungMetric::ValidationNll)
            && let Some(run) = runs.iter().find(|r| r.config.data.validation_size == 0)
        {
            let which = if runs.len() == 1 { String::new() } else { format!(" (run {})", describe_run(run)) };
            return Err(ConfigError::InvalidValue {
                origin: search.metric_origin(file).into(),
                key: "search.metric".into(),
                message: format!(
                    "{} ranks runs on the validation split, and data.validation_size is 0{which}: hold some \
                     training images out ([data] validation_size = 5000, say), or choose metric = \"test_nll\" \
                     explicitly: the search then selects on the test set it reports, and the report labels \
                     those numbers optimistic",
                    asha.metric
                ),
            });
        }
        Ok(Plan { base, axes, runs, varying_keys, search: resolved, notes })
    }
}

/// Makes every run of an ASHA search train up to `max_epochs`: `train.epochs` of the base, which
/// no axis may sweep (the search decides how long each run trains).
fn fit_to_asha(
    file: &str,
    entries: &[Entry],
    base: &mut RunConfig,
    max_epochs: u32,
    explicit: bool,
    notes: &mut Vec<String>,
) -> Result<()> {
    if let Some(member) = entries.iter().flat_map(|e| &e.members).find(|m| m.key == "train.epochs") {
        return Err(ConfigError::BadSweep {
            file: file.into(),
            section: member.section.clone(),
            key: member.key.clone(),
            message: "an ASHA search decides how long each run trains, up to [search] max_epochs; \
                      train.epochs cannot be swept"
                .into(),
        });
    }
    let max = max_epochs as usize;
    if explicit && base.train.epochs != max {
        notes.push(format!(
            "[search] max_epochs = {max} sets train.epochs of every run (train.epochs = {} is not used)",
            base.train.epochs
        ));
    }
    base.train.epochs = max;
    Ok(())
}

/// A run in a message: its swept values.
fn describe_run(run: &PlannedRun) -> String {
    run.varying.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ")
}
