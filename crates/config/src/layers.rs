//! Layering of configuration sources with figment, lowest to highest: built-in defaults < run file <
//! environment (`PIXELCNN_CFG__SECTION__KEY`, a prefix that cannot collide with the tool's own
//! variables such as `PIXELCNN_DB`) < `--set key=value`. Errors name the layer and the key.

use std::fmt;
use std::path::Path;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::{Figment, Metadata, Source};

use crate::dotted_keys::flatten;
use crate::error::{ConfigError, Result};
use crate::run::RunConfig;
use crate::validate;

/// Prefix of environment variables that override configuration keys (`__` separates sections).
pub const ENV_PREFIX: &str = "PIXELCNN_CFG__";

/// One `--set key=value` override; the value is read as TOML (`2`, `1e-3`, `"cuda:1"`, `[1, 2]`)
/// and, when that fails, as a plain string (`--set device=flex`).
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// Dotted key.
    pub key: String,
    /// Parsed value.
    pub value: toml::Value,
}

impl Override {
    /// Parses `key=value`.
    pub fn parse(text: &str) -> Result<Self> {
        let (key, raw) = text
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .ok_or_else(|| ConfigError::BadOverride(text.to_owned()))?;
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
        Ok(Self { key: key.trim().to_owned(), value })
    }
}

impl fmt::Display for Override {
    /// `key=value`, the value written as TOML (strings quoted), as recorded with a sweep.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// Reads a TOML file, reporting syntax errors as `file:line:column`.
pub fn read_toml(path: &Path) -> Result<toml::Table> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Read { file: file.clone(), message: e.to_string() })?;
    parse_toml(&file, &text)
}

/// Parses TOML text read from `file`, reporting syntax errors as `file:line:column`.
pub(crate) fn parse_toml(file: &str, text: &str) -> Result<toml::Table> {
    text.parse::<toml::Table>().map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |span| line_column(text, span.start));
        ConfigError::Syntax { file: file.to_owned(), line, column, message: e.message().to_owned() }
    })
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Builds the layered figment of a single run: defaults, then `base` tables (lowest first, each
/// named by its origin), then the environment, then `--set` overrides.
pub fn figment(base: &[(String, toml::Table)], overrides: &[Override]) -> Figment {
    layered(base, true, overrides)
}

/// [`figment`] with the environment layer optional: an experiment's other profiles are checked
/// without it, since the environment belongs to the invocation, not to the file.
pub(crate) fn layered(base: &[(String, toml::Table)], env: bool, overrides: &[Override]) -> Figment {
    let mut fig = Figment::from(Serialized::defaults(RunConfig::default()));
    for (origin, table) in base {
        let text = toml::to_string(table).expect("a parsed TOML table serialises");
        let provider = Toml::string(&text);
        fig = fig.merge(NamedToml { origin: origin.clone(), provider });
    }
    if env {
        fig = fig.merge(env_layer());
    }
    for o in overrides {
        fig = fig.merge(NamedSet(Serialized::default(&o.key, o.value.clone()), o.key.clone()));
    }
    fig
}

/// The environment layer: `PIXELCNN_CFG__SECTION__KEY=value` sets `section.key`.
fn env_layer() -> Env {
    Env::prefixed(ENV_PREFIX).split("__")
}

/// The configuration keys the environment layer sets: (variable, dotted key, value), as figment
/// reads them (the variable spelled in capitals), sorted.
pub(crate) fn environment() -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = env_layer()
        .iter()
        .map(|(key, value)| {
            let key = key.to_string();
            (format!("{ENV_PREFIX}{}", key.to_uppercase().replace('.', "__")), key, value)
        })
        .collect();
    out.sort();
    out
}

/// Resolves a run from an optional file and overrides: layering, then type and range checks.
pub fn resolve_run(file: Option<&Path>, overrides: &[Override]) -> Result<RunConfig> {
    let base = match file {
        Some(path) => vec![(path.display().to_string(), read_toml(path)?)],
        None => Vec::new(),
    };
    extract(&figment(&base, overrides))
}

/// Extracts and validates a run configuration from a layered figment.
pub fn extract(fig: &Figment) -> Result<RunConfig> {
    let config: RunConfig = fig.extract().map_err(|e| convert(fig, e))?;
    if let Some(v) = validate::violations(&config).into_iter().next() {
        return Err(ConfigError::InvalidValue {
            origin: origin_of_key(fig, v.key),
            key: v.key.to_owned(),
            message: v.message,
        });
    }
    Ok(config)
}

fn convert(fig: &Figment, error: figment::Error) -> ConfigError {
    use figment::error::Kind;
    let section = error.path.join(".");
    let origin = error.metadata.as_ref().map(describe).unwrap_or_else(|| origin_of_key(fig, &section));
    match &error.kind {
        Kind::UnknownField(field, expected) => {
            // figment's path already ends with the unknown field.
            let key = section.clone();
            let parent = key.rsplit_once('.').map_or("", |(p, _)| p);
            debug_assert!(key.ends_with(field.as_str()));
            let origin = origin_of_key(fig, &key);
            let candidates = known_keys(expected, parent);
            ConfigError::UnknownKey { suggestion: closest(&key, &candidates), origin, key }
        }
        other => ConfigError::InvalidValue { origin, key: section, message: other.to_string() },
    }
}

fn known_keys(expected: &[&str], section: &str) -> Vec<String> {
    let mut keys = config_keys();
    keys.extend(
        expected.iter().map(|f| if section.is_empty() { (*f).to_owned() } else { format!("{section}.{f}") }),
    );
    keys
}

/// Every dotted leaf key of a run configuration (`seed`, `model.levels`, `data.dir`, ...), in
/// declaration order: what a sweep axis or an override may name.
pub(crate) fn config_keys() -> Vec<String> {
    let example = serde_json::to_value(full_example()).expect("config serialises");
    flatten(&example).into_iter().map(|(key, _)| key).collect()
}

/// The leaf keys whose values are integers, so that numeric ranges over them stay integers.
pub(crate) fn integer_keys() -> Vec<String> {
    let value = serde_json::to_value(full_example()).expect("config serialises");
    config_keys()
        .into_iter()
        .filter(|k| {
            value.pointer(&format!("/{}", k.replace('.', "/"))).is_some_and(|v| v.is_u64() || v.is_i64())
        })
        .collect()
}

/// The leaf keys whose values are numbers (integer or float), the only ones a range can sweep.
pub(crate) fn numeric_keys() -> Vec<String> {
    let value = serde_json::to_value(full_example()).expect("config serialises");
    config_keys()
        .into_iter()
        .filter(|k| value.pointer(&format!("/{}", k.replace('.', "/"))).is_some_and(|v| v.is_number()))
        .collect()
}

/// A configuration with every optional key present, so that suggestions can name all of them.
fn full_example() -> RunConfig {
    let mut c = RunConfig::default();
    c.data.dir = Some(".".into());
    c.data.train_limit = Some(1);
    c.data.test_limit = Some(1);
    c
}

/// The candidate closest to `key` (whole key or last segment), when one is close enough to be a typo.
pub(crate) fn closest(key: &str, candidates: &[String]) -> Option<String> {
    let leaf = key.rsplit('.').next().unwrap_or(key);
    candidates
        .iter()
        .map(|c| {
            let c_leaf = c.rsplit('.').next().unwrap_or(c);
            let score = strsim::jaro_winkler(key, c).max(strsim::jaro_winkler(leaf, c_leaf));
            (score, c)
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.clone())
}

/// Names the layer that supplied `key` (or its section), for error messages.
fn origin_of_key(fig: &Figment, key: &str) -> String {
    let mut probe = key;
    loop {
        if let Some(meta) = fig.find_metadata(probe) {
            return describe(meta);
        }
        match probe.rsplit_once('.') {
            Some((parent, _)) => probe = parent,
            None => return "configuration".into(),
        }
    }
}

fn describe(meta: &Metadata) -> String {
    match &meta.source {
        Some(Source::File(path)) => path.display().to_string(),
        Some(Source::Custom(name)) => name.clone(),
        _ => meta.name.to_string(),
    }
}

/// A TOML table that reports its origin (a file name, or `profile quick` of a file) in errors.
struct NamedToml {
    origin: String,
    provider: figment::providers::Data<Toml>,
}

impl figment::Provider for NamedToml {
    fn metadata(&self) -> Metadata {
        Metadata::from(self.origin.clone(), Source::Custom(self.origin.clone()))
    }
    fn data(&self) -> figment::Result<figment::value::Map<figment::Profile, figment::value::Dict>> {
        self.provider.data()
    }
}

/// A `--set` override that reports itself as such in errors.
struct NamedSet(Serialized<toml::Value>, String);

impl figment::Provider for NamedSet {
    fn metadata(&self) -> Metadata {
        let name = format!("--set {}", self.1);
        Metadata::from(name.clone(), Source::Custom(name))
    }
    fn data(&self) -> figment::Result<figment::value::Map<figment::Profile, figment::value::Dict>> {
        self.0.data()
    }
}
