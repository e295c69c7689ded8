//! Reading an experiment file's structure: the `[experiment]` table, the run configuration
//! tables, `[sweep]`, `[search]`, `[launcher]` and the profiles, each checked for unknown keys.
//! Values are checked later, when a plan layers them ([`super::plan`]).

use std::collections::BTreeMap;
use std::path::Path;

use toml::Value;

use crate::error::{ConfigError, Result};
use crate::launcher::{LauncherConfig, read_launcher};
use crate::layers::{closest, config_keys};
use crate::search::SearchTable;
use crate::sweep::{Entry, Reader};

/// Top-level tables of an experiment file that are not run configuration.
const EXPERIMENT_TABLES: [&str; 5] = ["experiment", "sweep", "search", "profile", "launcher"];

/// Keys of the `[experiment]` table.
const EXPERIMENT_KEYS: [&str; 2] = ["name", "description"];

/// An experiment file checked for structure: names, tables and sweep entries, not yet values.
pub(super) struct Parsed {
    pub(super) file: String,
    pub(super) name: String,
    pub(super) description: Option<String>,
    pub(super) launcher: LauncherConfig,
    pub(super) search: SearchTable,
    pub(super) base: toml::Table,
    pub(super) sweep: Vec<Entry>,
    pub(super) profiles: BTreeMap<String, Profile>,
}

/// One `[profile.NAME]`: run keys, sweep entries and search settings.
pub(super) struct Profile {
    pub(super) launcher: LauncherConfig,
    pub(super) search: SearchTable,
    pub(super) table: toml::Table,
    pub(super) sweep: Vec<Entry>,
}

impl Parsed {
    pub(super) fn new(
        file: &str,
        path: &Path,
        mut document: toml::Table,
        reader: &Reader<'_>,
    ) -> Result<Self> {
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
