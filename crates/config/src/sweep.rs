//! Sweep axes of an experiment file: reading a `[sweep]` table (grid keys, the `seeds` replicate
//! axis, zip groups, numeric ranges), letting a profile and the higher layers replace axes, and
//! expanding the axes into runs (cartesian product in file order, first axis slowest, seeds
//! innermost). Every value is checked against the run configuration before any run exists, so a bad
//! value is reported by the key and value the user wrote rather than by run number.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use toml::Value;

use crate::error::{ConfigError, Result};
use crate::experiment::PlannedRun;
use crate::layers::{closest, config_keys, integer_keys, numeric_keys};
use crate::run::RunConfig;
use crate::validate;

/// The most runs one sweep may expand to: a guard against a mistyped range, not a real limit on
/// what a lab runs.
pub const MAX_RUNS: usize = 10_000;

/// Keys a range table may hold.
const RANGE_KEYS: [&str; 3] = ["linear", "log", "num"];

/// Byte offset at which each key path was first written, so that axes keep their file order even
/// though parsed TOML tables iterate in sorted order.
pub(crate) type Positions = HashMap<Vec<String>, usize>;

/// Records where every key path of `text` was written; empty when the text does not parse (the
/// caller reports the syntax error).
pub(crate) fn positions(text: &str) -> Positions {
    fn walk(table: &toml::de::DeTable<'_>, path: &mut Vec<String>, out: &mut Positions) {
        for (key, value) in table.iter() {
            path.push(key.get_ref().to_string());
            out.entry(path.clone()).or_insert(key.span().start);
            if let toml::de::DeValue::Table(inner) = value.get_ref() {
                walk(inner, path, out);
            }
            path.pop();
        }
    }
    let mut out = Positions::new();
    if let Ok(doc) = toml::de::DeTable::parse(text) {
        walk(doc.get_ref(), &mut Vec::new(), &mut out);
    }
    out
}

/// What kind of axis a sweep entry is; it decides how its values combine with the other axes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AxisKind {
    /// One key over a list of values, combined with the other axes as a grid.
    Grid,
    /// Keys whose values move together (a `[sweep.zip.NAME]` group); holds the group's name.
    Zip(String),
    /// The replicate axis `seeds`: sets the top-level `seed` and is always the innermost axis.
    Seeds,
}

/// One axis of a resolved sweep, after the profile and the higher layers had their say: what a
/// plan shows and a store records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Axis {
    /// Grid, zip group or seeds.
    pub kind: AxisKind,
    /// Dotted configuration keys the axis sets (one, except for a zip group; `seed` for seeds).
    pub keys: Vec<String>,
    /// One entry per step of the axis: the value of each of `keys`, in order, normalised to the
    /// key's type (an integer written for a float key shows as a float).
    pub steps: Vec<Vec<Value>>,
    /// Table of the file the axis was written in, e.g. `sweep`, `sweep.zip.schedule` or
    /// `profile.quick.sweep`.
    pub section: String,
}

impl Axis {
    /// How the axis is named in messages: its key, `seeds`, or `zip NAME`.
    pub fn name(&self) -> String {
        match &self.kind {
            AxisKind::Grid => self.keys.join(", "),
            AxisKind::Zip(group) => format!("zip {group}"),
            AxisKind::Seeds => "seeds".into(),
        }
    }
}

/// One key of a sweep entry with its values as written, and the table it was written in.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub key: String,
    pub values: Vec<Value>,
    pub section: String,
}

/// A sweep entry as read from the file: a grid key, a zip group or the seeds.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub kind: AxisKind,
    pub members: Vec<Member>,
    pub section: String,
}

impl Entry {
    fn member_name(&self, member: &Member) -> String {
        match &self.kind {
            AxisKind::Seeds => "seeds".into(),
            _ => member.key.clone(),
        }
    }

    fn describe(&self, member: &Member) -> String {
        let zip = match &self.kind {
            AxisKind::Zip(group) => format!(" (zip group {group})"),
            _ => String::new(),
        };
        format!("{} = {}{zip}", self.member_name(member), Value::Array(member.values.clone()))
    }
}

/// Everything needed to read a sweep table: the file (for errors), where keys were written and
/// the keys a sweep may name.
pub(crate) struct Reader<'a> {
    file: &'a str,
    positions: &'a Positions,
    keys: Vec<String>,
    integers: Vec<String>,
    numerics: Vec<String>,
}

impl<'a> Reader<'a> {
    /// A reader for the sweep tables of `file`.
    pub fn new(file: &'a str, positions: &'a Positions) -> Self {
        Self { file, positions, keys: config_keys(), integers: integer_keys(), numerics: numeric_keys() }
    }

    fn position(&self, path: &[String]) -> usize {
        self.positions.get(path).copied().unwrap_or(usize::MAX)
    }

    fn origin(&self, section: &str) -> String {
        format!("{} [{section}]", self.file)
    }

    /// Reads the sweep table at `path` (e.g. `["sweep"]` or `["profile", "quick", "sweep"]`) into
    /// entries in file order.
    pub fn read(&self, path: &[String], value: &Value) -> Result<Vec<Entry>> {
        let section = path.join(".");
        let Value::Table(table) = value else {
            return Err(ConfigError::InvalidValue {
                origin: self.file.to_owned(),
                key: section,
                message: format!("expected a table of sweep axes, found {} {value}", value.type_str()),
            });
        };
        let mut found = Vec::new();
        for (key, value) in table {
            let key_path = child(path, key);
            let at = self.position(&key_path);
            match key.as_str() {
                "seeds" => {
                    let values = self.values(&section, "seeds", "seed", value)?;
                    let members = vec![Member { key: "seed".into(), values, section: section.clone() }];
                    found.push((at, Entry { kind: AxisKind::Seeds, members, section: section.clone() }));
                }
                "zip" => self.zip(&section, &key_path, value, &mut found)?,
                _ => {
                    let mut members = Vec::new();
                    self.flatten(&section, &key_path, key, value, true, &mut members)?;
                    found.extend(members.into_iter().map(|(at, m)| {
                        (at, Entry { kind: AxisKind::Grid, section: m.section.clone(), members: vec![m] })
                    }));
                }
            }
        }
        found.sort_by_key(|(at, _)| *at);
        let entries: Vec<Entry> = found.into_iter().map(|(_, e)| e).collect();
        check_duplicates(self.file, &entries)?;
        Ok(entries)
    }

    /// Reads `[SECTION.zip]`: a table of named groups, each a table of keys with lists.
    fn zip(
        &self,
        section: &str,
        path: &[String],
        value: &Value,
        found: &mut Vec<(usize, Entry)>,
    ) -> Result<()> {
        let Value::Table(groups) = value else {
            return Err(self.bad(section, "zip", format!(
                "expected named zip groups, e.g. [{section}.zip.schedule] with lists of equal length, found {} {value}",
                value.type_str()
            )));
        };
        for (group, value) in groups {
            let group_path = child(path, group);
            let group_section = format!("{section}.zip.{group}");
            let Value::Table(table) = value else {
                return Err(self.bad(section, &format!("zip.{group}"), format!(
                    "a zip group is a table of keys with lists of equal length, e.g. [{group_section}] \"train.lr\" = [1e-3, 1e-2], found {} {value}",
                    value.type_str()
                )));
            };
            let mut members = Vec::new();
            for (key, value) in table {
                self.flatten(&group_section, &child(&group_path, key), key, value, false, &mut members)?;
            }
            if members.is_empty() {
                return Err(ConfigError::EmptyAxis {
                    file: self.file.into(),
                    section: group_section,
                    key: group.clone(),
                });
            }
            members.sort_by_key(|(at, _)| *at);
            let members = members.into_iter().map(|(_, m)| m).collect();
            let kind = AxisKind::Zip(group.clone());
            found.push((self.position(&group_path), Entry { kind, members, section: group_section }));
        }
        Ok(())
    }

    /// Reads one key of a sweep table; a nested table that is not a range (`[sweep.model]
    /// levels = [2, 256]`) is read as the keys it holds.
    fn flatten(
        &self,
        section: &str,
        path: &[String],
        key: &str,
        value: &Value,
        top: bool,
        out: &mut Vec<(usize, Member)>,
    ) -> Result<()> {
        if let Value::Table(table) = value
            && !is_range(table)
        {
            for (sub, value) in table {
                self.flatten(section, &child(path, sub), &format!("{key}.{sub}"), value, top, out)?;
            }
            return Ok(());
        }
        if !self.keys.iter().any(|k| k == key) {
            let mut candidates = self.keys.clone();
            if top {
                candidates.extend(["seeds".to_owned(), "zip".to_owned()]);
            }
            return Err(ConfigError::UnknownKey {
                origin: self.origin(section),
                key: key.to_owned(),
                suggestion: closest(key, &candidates),
            });
        }
        let values = self.values(section, key, key, value)?;
        out.push((self.position(path), Member { key: key.to_owned(), values, section: section.to_owned() }));
        Ok(())
    }

    /// The values of one axis: a non-empty list, or a range table.
    fn values(&self, section: &str, name: &str, key: &str, value: &Value) -> Result<Vec<Value>> {
        match value {
            Value::Array(values) if values.is_empty() => {
                Err(ConfigError::EmptyAxis { file: self.file.into(), section: section.into(), key: name.into() })
            }
            Value::Array(values) => Ok(values.clone()),
            Value::Table(table) if is_range(table) => self.range(section, name, key, table),
            other => Err(self.bad(section, name, format!(
                "a sweep axis is a list of values, e.g. \"{name}\" = [{other}], or a range such as {{ linear = [a, b], num = n }}; found {} {other}",
                other.type_str()
            ))),
        }
    }

    /// Expands `{ linear = [a, b], num = n }` or `{ log = [a, b], num = n }`: n values from a to b
    /// inclusive, evenly spaced or evenly spaced in log. Integer keys get integers when every value
    /// is a whole number.
    fn range(&self, section: &str, name: &str, key: &str, table: &toml::Table) -> Result<Vec<Value>> {
        for k in table.keys() {
            if !RANGE_KEYS.contains(&k.as_str()) {
                let candidates: Vec<String> = RANGE_KEYS.iter().map(|r| format!("{name}.{r}")).collect();
                let key = format!("{name}.{k}");
                return Err(ConfigError::UnknownKey {
                    origin: self.origin(section),
                    suggestion: closest(&key, &candidates),
                    key,
                });
            }
        }
        if !self.numerics.iter().any(|k| k == key) {
            return Err(self.bad(
                section,
                name,
                format!("{key} is not numeric, so it cannot take a range; list its values"),
            ));
        }
        let (scale, bounds) = match (table.get("linear"), table.get("log")) {
            (Some(b), None) => ("linear", b),
            (None, Some(b)) => ("log", b),
            (Some(_), Some(_)) => {
                return Err(self.bad(section, name, "a range is either linear or log, not both".into()));
            }
            (None, None) => {
                return Err(self.bad(
                    section,
                    name,
                    "a range needs linear = [start, end] or log = [start, end]".into(),
                ));
            }
        };
        let pair =
            bounds.as_array().filter(|a| a.len() == 2).and_then(|a| Some((number(&a[0])?, number(&a[1])?)));
        let Some((start, end)) = pair else {
            return Err(self.bad(
                section,
                name,
                format!("`{scale}` must be [start, end], two numbers; found {bounds}"),
            ));
        };
        let num = match table.get("num") {
            None => {
                return Err(self.bad(section, name, "a range needs num = N, how many values to take".into()));
            }
            Some(Value::Integer(n)) if *n < 0 => {
                return Err(self.bad(section, name, format!("num = {n} must be a positive whole number")));
            }
            Some(Value::Integer(0)) => {
                return Err(ConfigError::EmptyAxis {
                    file: self.file.into(),
                    section: section.into(),
                    key: name.into(),
                });
            }
            Some(Value::Integer(n)) if *n as usize > MAX_RUNS => {
                return Err(self.bad(section, name, format!("num = {n} is more than {MAX_RUNS} values")));
            }
            Some(Value::Integer(n)) => *n as usize,
            Some(other) => {
                return Err(self.bad(
                    section,
                    name,
                    format!("num must be a whole number, found {} {other}", other.type_str()),
                ));
            }
        };
        if scale == "log" && !(start > 0.0 && end > 0.0) {
            return Err(self.bad(
                section,
                name,
                format!("log bounds must be positive, found [{start}, {end}]"),
            ));
        }
        let integer = self.integers.iter().any(|k| k == key);
        (0..num)
            .map(|i| {
                let x = if i == 0 {
                    start
                } else if i == num - 1 {
                    end
                } else {
                    let t = i as f64 / (num - 1) as f64;
                    let x = if scale == "log" { (start.ln() + (end.ln() - start.ln()) * t).exp() } else { start + (end - start) * t };
                    // Twelve significant digits: 1e-3, not 0.0009999999999999998.
                    format!("{x:.11e}").parse().unwrap_or(x)
                };
                if !integer {
                    return Ok(Value::Float(x));
                }
                let whole = x.round();
                if (x - whole).abs() <= 1e-9 * x.abs().max(1.0) && whole.abs() < 9.0e15 {
                    Ok(Value::Integer(whole as i64))
                } else {
                    Err(self.bad(section, name, format!(
                        "the {scale} range gives {x}, but {key} takes whole numbers; choose bounds and num that land on whole numbers, or list the values"
                    )))
                }
            })
            .collect()
    }

    fn bad(&self, section: &str, key: &str, message: String) -> ConfigError {
        ConfigError::BadSweep { file: self.file.into(), section: section.into(), key: key.into(), message }
    }
}

fn child(path: &[String], key: &str) -> Vec<String> {
    let mut out = path.to_vec();
    out.push(key.to_owned());
    out
}

fn is_range(table: &toml::Table) -> bool {
    RANGE_KEYS.iter().any(|k| table.contains_key(*k))
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Integer(n) => Some(*n as f64),
        Value::Float(x) if x.is_finite() => Some(*x),
        _ => None,
    }
}

/// Rejects a key swept by two entries: the runs would not say which value wins.
fn check_duplicates(file: &str, entries: &[Entry]) -> Result<()> {
    let mut seen: HashMap<&str, String> = HashMap::new();
    for entry in entries {
        for member in &entry.members {
            let here = format!("[{}] {}", member.section, entry.member_name(member));
            if let Some(first) = seen.insert(&member.key, here) {
                return Err(ConfigError::BadSweep {
                    file: file.into(),
                    section: member.section.clone(),
                    key: entry.member_name(member),
                    message: format!("{} is swept twice, here and by {first}; keep one axis", member.key),
                });
            }
        }
    }
    Ok(())
}

/// Applies a profile's sweep to the file's: an axis of the same key replaces the file's axis (a
/// member of a zip group keeps its place in the group), `seeds` replaces `seeds`, a zip group
/// replaces the group of the same name and takes its keys from wherever else they were swept;
/// other axes are added after the file's.
pub(crate) fn apply_profile(
    file: &str,
    base: &mut Vec<Entry>,
    profile: Vec<Entry>,
    notes: &mut Vec<String>,
) -> Result<()> {
    for entry in profile {
        match &entry.kind {
            AxisKind::Zip(group) => {
                let who = format!("[{}]", entry.section);
                for member in &entry.members {
                    remove_key(base, &member.key, &who, notes, |e| e.kind == entry.kind);
                }
                match base.iter_mut().find(|e| e.kind == entry.kind) {
                    Some(slot) => {
                        notes.push(format!("{who} replaces the zip group {group} of [{}]", slot.section));
                        *slot = entry;
                    }
                    None => base.push(entry),
                }
            }
            AxisKind::Grid | AxisKind::Seeds => {
                let new = &entry.members[0];
                let found = base.iter_mut().find_map(|e| {
                    let at = e.members.iter().position(|m| m.key == new.key)?;
                    Some((e, at))
                });
                match found {
                    Some((slot, at)) => {
                        let who = format!("[{}] {}", new.section, entry.member_name(new));
                        notes.push(format!(
                            "{who} = {} replaces the sweep axis {}",
                            Value::Array(new.values.clone()),
                            slot.describe(&slot.members[at])
                        ));
                        if matches!(slot.kind, AxisKind::Zip(_)) {
                            slot.members[at] = new.clone();
                        } else {
                            *slot = entry;
                        }
                    }
                    None => base.push(entry),
                }
            }
        }
    }
    check_duplicates(file, base)
}

/// Removes `key` (and the keys under it, for a section) from every axis, recording `who` replaced
/// it: a profile, the environment or `--set` fixes the key to one value.
pub(crate) fn fix_key(entries: &mut Vec<Entry>, key: &str, who: &str, notes: &mut Vec<String>) {
    remove_key(entries, key, who, notes, |_| false);
}

fn remove_key(
    entries: &mut Vec<Entry>,
    key: &str,
    who: &str,
    notes: &mut Vec<String>,
    keep: impl Fn(&Entry) -> bool,
) {
    let under = format!("{key}.");
    for entry in entries.iter_mut().filter(|e| !keep(e)) {
        let (gone, kept): (Vec<Member>, Vec<Member>) =
            entry.members.drain(..).partition(|m| m.key == key || m.key.starts_with(&under));
        for member in &gone {
            notes.push(format!("{who} replaces the sweep axis {}", entry.describe(member)));
        }
        entry.members = kept;
    }
    entries.retain(|e| !e.members.is_empty());
}

/// Rejects a zip group whose members have different lengths.
pub(crate) fn check_zip_lengths(file: &str, entries: &[Entry]) -> Result<()> {
    for entry in entries {
        if let AxisKind::Zip(group) = &entry.kind {
            let lengths: Vec<(String, usize)> =
                entry.members.iter().map(|m| (m.key.clone(), m.values.len())).collect();
            if lengths.iter().any(|(_, n)| *n != lengths[0].1) {
                return Err(ConfigError::ZipLengths {
                    file: file.into(),
                    section: entry.section.clone(),
                    group: group.clone(),
                    lengths,
                });
            }
        }
    }
    Ok(())
}

/// The runs of a sweep over `base`: every value checked on its own first (so an error names the key
/// and value written), then the product of the axes, each run checked again.
pub(crate) fn expand(
    file: &str,
    entries: Vec<Entry>,
    base: &RunConfig,
) -> Result<(Vec<Axis>, Vec<PlannedRun>, Vec<String>)> {
    let base_table = toml::Table::try_from(base).expect("a run configuration serialises");
    let mut axes = Vec::new();
    for entry in entries {
        let mut normalised = Vec::new();
        for member in &entry.members {
            let values = member
                .values
                .iter()
                .map(|v| check_value(file, &member.section, &member.key, v, &base_table))
                .collect::<Result<Vec<_>>>()?;
            normalised.push(values);
        }
        let len = normalised.first().map_or(0, Vec::len);
        let steps: Vec<Vec<Value>> =
            (0..len).map(|i| normalised.iter().map(|v| v[i].clone()).collect()).collect();
        let axis = Axis {
            kind: entry.kind.clone(),
            keys: entry.members.iter().map(|m| m.key.clone()).collect(),
            steps,
            section: entry.section.clone(),
        };
        if let Some(repeat) =
            axis.steps.iter().enumerate().find_map(|(i, s)| axis.steps[..i].contains(s).then_some(s))
        {
            let shown = if repeat.len() == 1 {
                repeat[0].to_string()
            } else {
                Value::Array(repeat.clone()).to_string()
            };
            return Err(ConfigError::BadSweep {
                file: file.into(),
                section: axis.section.clone(),
                key: axis.name(),
                message: format!("{shown} appears more than once; every run of a sweep must differ"),
            });
        }
        axes.push(axis);
    }
    // Seeds are the innermost axis wherever they were written.
    axes.sort_by_key(|a| a.kind == AxisKind::Seeds);

    let total = axes.iter().try_fold(1usize, |n, a| n.checked_mul(a.steps.len()).filter(|n| *n <= MAX_RUNS));
    let Some(total) = total else {
        let sizes: Vec<String> = axes.iter().map(|a| format!("{} ({})", a.name(), a.steps.len())).collect();
        return Err(ConfigError::BadSweep {
            file: file.into(),
            section: "sweep".into(),
            key: sizes.join(" x "),
            message: format!("expands to more than {MAX_RUNS} runs"),
        });
    };

    let varying_keys: Vec<String> = axes
        .iter()
        .flat_map(|a| a.keys.iter().enumerate().map(move |(j, k)| (a, j, k)))
        .filter(|(a, j, _)| a.steps.iter().any(|s| s[*j] != a.steps[0][*j]))
        .map(|(_, _, k)| k.clone())
        .collect();

    let mut runs = Vec::with_capacity(total);
    for index in 0..total {
        let mut rest = index;
        let mut picks = vec![0; axes.len()];
        for (i, axis) in axes.iter().enumerate().rev() {
            picks[i] = rest % axis.steps.len();
            rest /= axis.steps.len();
        }
        let mut table = base_table.clone();
        let mut assigned: Vec<(&Axis, &String, &Value)> = Vec::new();
        for (axis, pick) in axes.iter().zip(&picks) {
            for (key, value) in axis.keys.iter().zip(&axis.steps[*pick]) {
                set_path(&mut table, key, value.clone());
                assigned.push((axis, key, value));
            }
        }
        let config: RunConfig =
            Value::Table(table).try_into().map_err(|e: toml::de::Error| ConfigError::InvalidValue {
                origin: format!("{file} [sweep] run {}", index + 1),
                key: String::new(),
                message: e.message().to_owned(),
            })?;
        if let Some(v) = validate::violations(&config).into_iter().next() {
            return Err(match assigned.iter().find(|(_, k, _)| k.as_str() == v.key) {
                Some((axis, key, value)) => ConfigError::SweepValue {
                    file: file.into(),
                    section: axis.section.clone(),
                    key: (*key).clone(),
                    value: value.to_string(),
                    message: v.message,
                },
                None => ConfigError::InvalidValue {
                    origin: format!("{file} [sweep] run {}", index + 1),
                    key: v.key.into(),
                    message: v.message,
                },
            });
        }
        let varying: BTreeMap<String, Value> = assigned
            .iter()
            .filter(|(_, k, _)| varying_keys.contains(k))
            .map(|(_, k, v)| ((*k).clone(), (*v).clone()))
            .collect();
        runs.push(PlannedRun { config, varying });
    }
    Ok((axes, runs, varying_keys))
}

/// Checks one value of an axis on top of the resolved base and returns it as the configuration
/// holds it (so `1` for a float key reads `1.0`).
fn check_value(file: &str, section: &str, key: &str, value: &Value, base: &toml::Table) -> Result<Value> {
    let error = |message: String| ConfigError::SweepValue {
        file: file.into(),
        section: section.into(),
        key: key.into(),
        value: value.to_string(),
        message,
    };
    let mut table = base.clone();
    set_path(&mut table, key, value.clone());
    let config: RunConfig =
        Value::Table(table).try_into().map_err(|e: toml::de::Error| error(e.message().to_owned()))?;
    if let Some(v) = validate::violations(&config).into_iter().next() {
        let message =
            if v.key == key { v.message } else { format!("makes `{}` invalid: {}", v.key, v.message) };
        return Err(error(message));
    }
    let resolved = toml::Table::try_from(&config).expect("a run configuration serialises");
    Ok(get_path(&resolved, key).cloned().unwrap_or_else(|| value.clone()))
}

/// The value at a dotted key of a table.
pub(crate) fn get_path<'t>(table: &'t toml::Table, key: &str) -> Option<&'t Value> {
    let (head, leaf) = key.rsplit_once('.').map_or((None, key), |(h, l)| (Some(h), l));
    let mut current = table;
    for part in head.into_iter().flat_map(|h| h.split('.')) {
        current = current.get(part)?.as_table()?;
    }
    current.get(leaf)
}

/// Sets a dotted key of a table, creating the tables on the way.
pub(crate) fn set_path(table: &mut toml::Table, key: &str, value: Value) {
    let (head, leaf) = key.rsplit_once('.').map_or((None, key), |(h, l)| (Some(h), l));
    let mut current = table;
    for part in head.into_iter().flat_map(|h| h.split('.')) {
        let slot = current.entry(part).or_insert_with(|| Value::Table(toml::Table::new()));
        if !slot.is_table() {
            *slot = Value::Table(toml::Table::new());
        }
        current = slot.as_table_mut().expect("just made a table");
    }
    current.insert(leaf.to_owned(), value);
}

/// The dotted leaf keys of a table (arrays and inline values count as leaves).
pub(crate) fn leaves(table: &toml::Table, prefix: &str) -> Vec<(String, Value)> {
    table
        .iter()
        .flat_map(|(k, v)| {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match v {
                Value::Table(inner) => leaves(inner, &key),
                other => vec![(key, other.clone())],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<Entry>> {
        let doc: toml::Table = text.parse().unwrap();
        let positions = positions(text);
        Reader::new("x.toml", &positions).read(&["sweep".into()], &doc["sweep"])
    }

    #[test]
    fn entries_keep_file_order_not_sorted_order() {
        let entries = read("[sweep]\nseeds = [1]\n\"train.lr\" = [1e-3]\n\"model.levels\" = [2]\n").unwrap();
        let keys: Vec<&str> = entries.iter().map(|e| e.members[0].key.as_str()).collect();
        assert_eq!(keys, ["seed", "train.lr", "model.levels"]);
    }

    #[test]
    fn log_range_values_are_rounded_to_what_was_meant() {
        let entries = read("[sweep]\n\"train.lr\" = { log = [1e-5, 1e-1], num = 5 }\n").unwrap();
        let values: Vec<f64> = entries[0].members[0].values.iter().map(|v| v.as_float().unwrap()).collect();
        assert_eq!(values, [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]);
        let entries = read("[sweep]\n\"train.lr\" = { linear = [0.1, 0.3], num = 1 }\n").unwrap();
        assert_eq!(entries[0].members[0].values, [Value::Float(0.1)]);
    }

    #[test]
    fn dotted_paths_set_and_get() {
        let mut table = toml::Table::new();
        set_path(&mut table, "model.levels", Value::Integer(4));
        set_path(&mut table, "seed", Value::Integer(1));
        assert_eq!(get_path(&table, "model.levels"), Some(&Value::Integer(4)));
        assert_eq!(get_path(&table, "seed"), Some(&Value::Integer(1)));
        assert_eq!(get_path(&table, "model.blocks"), None);
        assert_eq!(get_path(&table, "seed.x"), None);
    }

    #[test]
    fn fixing_a_zip_member_keeps_the_rest_of_the_group() {
        let mut entries =
            read("[sweep.zip.s]\n\"train.lr\" = [1e-3, 1e-2]\n\"train.lr_decay\" = [1.0, 0.99]\n").unwrap();
        let mut notes = Vec::new();
        fix_key(&mut entries, "train.lr", "--set train.lr=0.1", &mut notes);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].members.len(), 1);
        assert_eq!(entries[0].members[0].key, "train.lr_decay");
        assert_eq!(
            notes,
            ["--set train.lr=0.1 replaces the sweep axis train.lr = [0.001, 0.01] (zip group s)"]
        );
        fix_key(&mut entries, "train", "--set train={}", &mut notes);
        assert!(entries.is_empty());
    }
}
