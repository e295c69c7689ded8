//! Experiment files: a name, a base run configuration, sweep axes, a search strategy and named
//! profiles in one TOML file, resolved into the list of runs a sweep trains. Layers, lowest
//! first: built-in defaults < the file's base < the selected profile < the environment
//! (`PIXELCNN_CFG__SECTION__KEY`) < `--set key=value`. A higher layer that fixes a swept key
//! replaces that axis, and the experiment's notes say so. The whole file (every profile) is
//! checked before anything runs, so a typo in the quick profile is caught by the full sweep too.
//!
//! `parse.rs` reads the file's structure; `plan.rs` layers and expands it.

mod parse;
mod plan;

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{ConfigError, Result};
use crate::launcher::LauncherConfig;
use crate::layers::{Override, parse_toml};
use crate::run::RunConfig;
use crate::search::Search;
use crate::sweep::{self, Axis, PlannedRun, Reader};

use parse::Parsed;

/// A resolved experiment: what `plan` shows and `sweep` runs and records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    /// `[experiment] name`: groups the runs of every invocation of this file in the store.
    pub name: String,
    /// `[experiment] description`, free text for reports.
    pub description: Option<String>,
    /// The experiment file as given.
    pub file: PathBuf,
    /// SHA-256 (hex) of the file's bytes, recorded with each sweep so a changed file is noticed.
    pub file_hash: String,
    /// The selected profile, if any.
    pub profile: Option<String>,
    /// Every profile the file defines, sorted (so a CPU user can be pointed at `quick`).
    pub profiles: Vec<String>,
    /// The `--set` overrides, as `key=value` with the value written as TOML.
    pub overrides: Vec<String>,
    /// The resolved configuration every run starts from, before the sweep axes apply.
    pub base: RunConfig,
    /// The sweep axes that remain after the profile, the environment and `--set`, outermost first;
    /// seeds last.
    pub axes: Vec<Axis>,
    /// Every run, in sweep order (first axis slowest, seeds fastest).
    pub runs: Vec<PlannedRun>,
    /// Dotted keys whose values differ between runs, in axis order (`seed` included).
    pub varying_keys: Vec<String>,
    /// How the runs were chosen and how long they train: `[search]` with the selected profile's
    /// over it.
    pub search: Search,
    /// Where the runs train when launched on a cluster: the file's `[launcher]` with the selected
    /// profile's over it.
    pub launcher: LauncherConfig,
    /// What the layers changed about the file's sweep, e.g. `--set model.levels=2 replaces the
    /// sweep axis model.levels = [2, 256]`.
    pub notes: Vec<String>,
}

impl Experiment {
    /// The configuration every run starts from (defaults, file, profile, environment, `--set`),
    /// for display next to the varying keys.
    pub fn base_config(&self) -> &RunConfig {
        &self.base
    }
}

/// A folder name for an experiment (its runs, its report) that stays inside its parent whatever
/// the experiment is called.
pub fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    if cleaned.trim_matches('_').is_empty() { "experiment".into() } else { cleaned }
}

/// Reads, layers, expands and validates an experiment file. `profile` selects a
/// `[profile.NAME]`; `overrides` are the `--set` arguments. Every error names the file and the key
/// (or `file:line:column` for a TOML syntax error); nothing is returned unless every run of the
/// selected plan, and every profile of the file, is valid.
pub fn load_experiment(path: &Path, profile: Option<&str>, overrides: &[Override]) -> Result<Experiment> {
    let file = path.display().to_string();
    let bytes =
        std::fs::read(path).map_err(|e| ConfigError::Read { file: file.clone(), message: e.to_string() })?;
    let file_hash = hex::encode(Sha256::digest(&bytes));
    let text = String::from_utf8(bytes)
        .map_err(|e| ConfigError::Read { file: file.clone(), message: format!("not UTF-8 text: {e}") })?;
    let document = parse_toml(&file, &text)?;
    let positions = sweep::positions(&text);
    let parsed = Parsed::new(&file, path, document, &Reader::new(&file, &positions))?;

    if let Some(name) = profile
        && !parsed.profiles.contains_key(name)
    {
        return Err(ConfigError::UnknownProfile {
            file,
            name: name.to_owned(),
            available: parsed.profiles.keys().cloned().collect(),
        });
    }
    let plan = parsed.plan(profile, true, overrides)?;
    // The rest of the file must be valid too: the quick profile of a full sweep, and the reverse.
    let others = std::iter::once(None).chain(parsed.profiles.keys().map(|k| Some(k.as_str())));
    for other in others.filter(|o| *o != profile) {
        parsed.plan(other, false, &[])?;
    }

    Ok(Experiment {
        name: parsed.name,
        description: parsed.description,
        file: path.to_path_buf(),
        file_hash,
        profile: profile.map(str::to_owned),
        profiles: parsed.profiles.keys().cloned().collect(),
        overrides: overrides.iter().map(ToString::to_string).collect(),
        base: plan.base,
        axes: plan.axes,
        runs: plan.runs,
        varying_keys: plan.varying_keys,
        search: plan.search,
        launcher: match profile {
            Some(name) => LauncherConfig {
                slurm: parsed.launcher.slurm.overlaid(&parsed.profiles[name].launcher.slurm),
            },
            None => parsed.launcher.clone(),
        },
        notes: plan.notes,
    })
}
