//! Experiment files: a name, a base run configuration, sweep axes, a search strategy and named
//! profiles in one TOML file, resolved into the list of runs a sweep trains. Layers, lowest first: built-in defaults <
//! the file's base < the selected profile < the environment (`PIXELCNN_CFG__SECTION__KEY`) <
//! `--set key=value`. A higher layer that fixes a swept key replaces that axis, and the
//! experiment's notes say so. The whole file (every profile) is checked before anything runs, so a
//! typo in the quick profile is caught by the full sweep too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pixelcnn_record::RungMetric;
use serde::Serialize;
use sha2::{Digest, Sha256};
use toml::Value;

use crate::dotted_keys::flatten;
use crate::error::{ConfigError, Result};
use crate::launcher::{LauncherConfig, read_launcher};
use crate::layers::{ENV_PREFIX, Override, closest, config_keys, extract, layered, parse_toml};
use crate::run::RunConfig;
use crate::search::{Search, SearchTable};
use crate::sweep::{
    self, Axis, Entry, Expanded, PlannedRun, Reader, apply_profile, check_zip_lengths, expand, fix_key,
};

/// Top-level tables of an experiment file that are not run configuration.
const EXPERIMENT_TABLES: [&str; 5] = ["experiment", "sweep", "search", "profile", "launcher"];

/// Keys of the `[experiment]` table.
const EXPERIMENT_KEYS: [&str; 2] = ["name", "description"];

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

/// An experiment file checked for structure: names, tables and sweep entries, not yet values.
struct Parsed {
    file: String,
    name: String,
    description: Option<String>,
    launcher: LauncherConfig,
    search: SearchTable,
    base: toml::Table,
    sweep: Vec<Entry>,
    profiles: BTreeMap<String, Profile>,
}

/// One `[profile.NAME]`: run keys, sweep entries and search settings.
struct Profile {
    launcher: LauncherConfig,
    search: SearchTable,
    table: toml::Table,
    sweep: Vec<Entry>,
}

/// One layering of the file: the base configuration and the runs.
struct Plan {
    base: RunConfig,
    axes: Vec<Axis>,
    runs: Vec<PlannedRun>,
    varying_keys: Vec<String>,
    search: Search,
    notes: Vec<String>,
}

impl Parsed {
    fn new(file: &str, path: &Path, mut document: toml::Table, reader: &Reader<'_>) -> Result<Self> {
        let sections = run_sections();
        let mut allowed: Vec<String> = sections.clone();
        allowed.extend(EXPERIMENT_TABLES.map(str::to_owned));
        for key in document.keys() {
            if !allowed.contains(key) {
                let mut candidates = allowed.clone();
                candidates.extend(config_keys());
                return Err(ConfigError::UnknownKey {
                    origin: file.into(),
                    key: key.clone(),
                    suggestion: closest(key, &candidates),
                });
            }
        }

        let (name, description) = experiment_table(file, path, document.remove("experiment"))?;
        let launcher = match document.remove("launcher") {
            Some(value) => read_launcher(file, value)?,
            None => LauncherConfig::default(),
        };
        let sweep = match document.remove("sweep") {
            Some(value) => reader.read(&["sweep".to_owned()], &value)?,
            None => Vec::new(),
        };
        let search = match document.remove("search") {
            Some(value) => SearchTable::read(file, value)?,
            None => SearchTable::default(),
        };
        let mut profiles = BTreeMap::new();
        match document.remove("profile") {
            None => {}
            Some(Value::Table(table)) => {
                for (name, value) in table {
                    let origin = format!("{file} [profile.{name}]");
                    let Value::Table(mut table) = value else {
                        return Err(ConfigError::InvalidValue {
                            origin: file.into(),
                            key: format!("profile.{name}"),
                            message: format!(
                                "a profile is a table of overrides, e.g. [profile.{name}.train] epochs = 1; found {} {value}",
                                value.type_str()
                            ),
                        });
                    };
                    let mut allowed = sections.clone();
                    allowed.push("sweep".into());
                    allowed.push("search".into());
                    allowed.push("launcher".into());
                    if let Some(key) = table.keys().find(|k| !allowed.contains(k)) {
                        let mut candidates = allowed.clone();
                        candidates.extend(config_keys());
                        return Err(ConfigError::UnknownKey {
                            origin,
                            key: key.clone(),
                            suggestion: closest(key, &candidates),
                        });
                    }
                    let sweep = match table.remove("sweep") {
                        Some(value) => {
                            reader.read(&["profile".into(), name.clone(), "sweep".into()], &value)?
                        }
                        None => Vec::new(),
                    };
                    let launcher = match table.remove("launcher") {
                        Some(value) => read_launcher(&origin, value)?,
                        None => LauncherConfig::default(),
                    };
                    let search = match table.remove("search") {
                        Some(value) => SearchTable::read(&origin, value)?,
                        None => SearchTable::default(),
                    };
                    profiles.insert(name, Profile { launcher, search, table, sweep });
                }
            }
            Some(other) => {
                return Err(ConfigError::InvalidValue {
                    origin: file.into(),
                    key: "profile".into(),
                    message: format!(
                        "expected named profiles, e.g. [profile.quick.train] epochs = 1; found {} {other}",
                        other.type_str()
                    ),
                });
            }
        }
        Ok(Self { file: file.into(), name, description, launcher, search, base: document, sweep, profiles })
    }

    /// Layers the file with `profile`, the environment (when `env`) and `overrides`, and expands
    /// the sweep.
    fn plan(&self, profile: Option<&str>, env: bool, overrides: &[Override]) -> Result<Plan> {
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

/// The top-level sections and keys of a run configuration (`seed`, `device`, `data`, ...).
fn run_sections() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in config_keys() {
        let head = key.split('.').next().unwrap_or(&key).to_owned();
        if !out.contains(&head) {
            out.push(head);
        }
    }
    out
}

/// Reads `[experiment]`: `name` (required, a non-empty string) and `description`.
fn experiment_table(file: &str, path: &Path, value: Option<Value>) -> Result<(String, Option<String>)> {
    let stem = path.file_stem().map_or("my-experiment".into(), |s| s.to_string_lossy().into_owned());
    let missing = || ConfigError::MissingKey {
        origin: file.into(),
        key: "experiment.name".into(),
        hint: format!("add [experiment] name = \"{stem}\""),
    };
    let table = match value {
        None => return Err(missing()),
        Some(Value::Table(table)) => table,
        Some(other) => {
            return Err(ConfigError::InvalidValue {
                origin: file.into(),
                key: "experiment".into(),
                message: format!(
                    "expected a table with name and description, found {} {other}",
                    other.type_str()
                ),
            });
        }
    };
    if let Some(key) = table.keys().find(|k| !EXPERIMENT_KEYS.contains(&k.as_str())) {
        if run_sections().contains(key) {
            // `seed = 1` written below the `[experiment]` header lands in that table.
            return Err(ConfigError::InvalidValue {
                origin: file.into(),
                key: format!("experiment.{key}"),
                message: format!(
                    "`{key}` is a run key, not an [experiment] key; TOML puts every key that follows a [table] header in that table, so move `{key}` above [experiment]"
                ),
            });
        }
        let key = format!("experiment.{key}");
        let candidates: Vec<String> = EXPERIMENT_KEYS.iter().map(|k| format!("experiment.{k}")).collect();
        return Err(ConfigError::UnknownKey {
            origin: file.into(),
            suggestion: closest(&key, &candidates),
            key,
        });
    }
    let string = |key: &str| -> Result<Option<String>> {
        match table.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(ConfigError::InvalidValue {
                origin: file.into(),
                key: format!("experiment.{key}"),
                message: format!("expected a string, found {} {other}", other.type_str()),
            }),
        }
    };
    let name = string("name")?.ok_or_else(missing)?;
    if name.trim().is_empty() {
        return Err(ConfigError::InvalidValue {
            origin: file.into(),
            key: "experiment.name".into(),
            message: "must not be empty: it names the experiment's runs in the store".into(),
        });
    }
    Ok((name, string("description")?))
}

/// The configuration keys set through the environment: (variable, dotted key, value), read the way
/// figment's `Env::prefixed(ENV_PREFIX).split("__")` reads them.
fn environment() -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = std::env::vars_os()
        .filter_map(|(var, value)| {
            let var = var.into_string().ok()?;
            let head = var.get(..ENV_PREFIX.len())?;
            if !head.eq_ignore_ascii_case(ENV_PREFIX) {
                return None;
            }
            let rest = &var[ENV_PREFIX.len()..];
            let key = rest.split("__").map(str::to_lowercase).collect::<Vec<_>>().join(".");
            (!key.is_empty()).then(|| (var.clone(), key, value.to_string_lossy().into_owned()))
        })
        .collect();
    out.sort();
    out
}
