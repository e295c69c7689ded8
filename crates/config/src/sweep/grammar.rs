//! The grammar of a sweep table: `KEY = [values]` (a grid axis), `seeds = [...]` (the replicate
//! axis), `[SECTION.zip.NAME]` (keys that move together), `{ linear | log = [a, b], num = n }` (a
//! numeric range; without `num`, a continuous range that only a search sampling trials can draw
//! from) and nested tables that spell dotted keys. Every key is checked against the run
//! configuration here, so a typo is reported with the table it was written in and a suggestion.

use toml::Value;

use super::axis::{AxisKind, Entry, Member, Scale, check_duplicates};
use super::expand::MAX_RUNS;
use super::positions::Positions;
use crate::error::{ConfigError, Result};
use crate::layers::{closest, config_keys, integer_keys, numeric_keys};

/// Keys a range table may hold.
const RANGE_KEYS: [&str; 3] = ["linear", "log", "num"];

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
                    let (values, continuous) = self.values(&section, "seeds", "seed", value)?;
                    if continuous.is_some() {
                        return Err(self.bad(
                            &section,
                            "seeds",
                            "seeds are replicates: list them, or give the range a num".into(),
                        ));
                    }
                    let members =
                        vec![Member { key: "seed".into(), values, continuous, section: section.clone() }];
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
            if let Some((_, m)) = members.iter().find(|(_, m)| m.continuous.is_some()) {
                return Err(self.bad(
                    &group_section,
                    &m.key,
                    "a zip group moves in steps: give the range a num, or sweep it outside the group".into(),
                ));
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
        let (values, continuous) = self.values(section, key, key, value)?;
        let member = Member { key: key.to_owned(), values, continuous, section: section.to_owned() };
        out.push((self.position(path), member));
        Ok(())
    }

    /// The values of one axis: a non-empty list, or a range table (with `num`, its values; without,
    /// its two bounds and its scale).
    fn values(
        &self,
        section: &str,
        name: &str,
        key: &str,
        value: &Value,
    ) -> Result<(Vec<Value>, Option<Scale>)> {
        match value {
            Value::Array(values) if values.is_empty() => {
                Err(ConfigError::EmptyAxis { file: self.file.into(), section: section.into(), key: name.into() })
            }
            Value::Array(values) => Ok((values.clone(), None)),
            Value::Table(table) if is_range(table) => self.range(section, name, key, table),
            other => Err(self.bad(section, name, format!(
                "a sweep axis is a list of values, e.g. \"{name}\" = [{other}], or a range such as {{ linear = [a, b], num = n }}; found {} {other}",
                other.type_str()
            ))),
        }
    }

    /// Expands `{ linear = [a, b], num = n }` or `{ log = [a, b], num = n }`: n values from a to b
    /// inclusive, evenly spaced or evenly spaced in log. Integer keys get integers when every value
    /// is a whole number. Without `num`, the range stays continuous: its bounds and scale.
    fn range(
        &self,
        section: &str,
        name: &str,
        key: &str,
        table: &toml::Table,
    ) -> Result<(Vec<Value>, Option<Scale>)> {
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
            (Some(b), None) => (Scale::Linear, b),
            (None, Some(b)) => (Scale::Log, b),
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
                format!("`{}` must be [start, end], two numbers; found {bounds}", scale.as_str()),
            ));
        };
        if scale == Scale::Log && !(start > 0.0 && end > 0.0) {
            return Err(self.bad(
                section,
                name,
                format!("log bounds must be positive, found [{start}, {end}]"),
            ));
        }
        let integer = self.integers.iter().any(|k| k == key);
        let num = match table.get("num") {
            None => return Ok((self.bounds(section, name, key, integer, start, end)?, Some(scale))),
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
        let values = (0..num)
            .map(|i| {
                let x = if i == 0 {
                    start
                } else if i == num - 1 {
                    end
                } else {
                    let t = i as f64 / (num - 1) as f64;
                    let x = if scale == Scale::Log { (start.ln() + (end.ln() - start.ln()) * t).exp() } else { start + (end - start) * t };
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
                        "the {} range gives {x}, but {key} takes whole numbers; choose bounds and num that land on whole numbers, or list the values",
                        scale.as_str()
                    )))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((values, None))
    }

    /// The two bounds of a continuous range, as the key takes them: whole numbers for an integer
    /// key (drawn values are whole numbers too).
    fn bounds(
        &self,
        section: &str,
        name: &str,
        key: &str,
        integer: bool,
        start: f64,
        end: f64,
    ) -> Result<Vec<Value>> {
        if !integer {
            return Ok(vec![Value::Float(start), Value::Float(end)]);
        }
        [start, end]
            .into_iter()
            .map(|x| {
                if x.fract() == 0.0 && x.abs() < 9.0e15 {
                    Ok(Value::Integer(x as i64))
                } else {
                    Err(self.bad(
                        section,
                        name,
                        format!(
                            "{key} takes whole numbers; the range's bounds must be whole numbers, found {x}"
                        ),
                    ))
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

/// Reads the `[sweep]` table of `text` as an experiment file's would be read.
#[cfg(test)]
pub(super) fn read_sweep(text: &str) -> Result<Vec<Entry>> {
    let doc: toml::Table = text.parse().unwrap();
    let positions = super::positions::positions(text);
    Reader::new("x.toml", &positions).read(&["sweep".into()], &doc["sweep"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_file_order_not_sorted_order() {
        let entries =
            read_sweep("[sweep]\nseeds = [1]\n\"train.lr\" = [1e-3]\n\"model.levels\" = [2]\n").unwrap();
        let keys: Vec<&str> = entries.iter().map(|e| e.members[0].key.as_str()).collect();
        assert_eq!(keys, ["seed", "train.lr", "model.levels"]);
    }

    #[test]
    fn log_range_values_are_rounded_to_what_was_meant() {
        let entries = read_sweep("[sweep]\n\"train.lr\" = { log = [1e-5, 1e-1], num = 5 }\n").unwrap();
        let values: Vec<f64> = entries[0].members[0].values.iter().map(|v| v.as_float().unwrap()).collect();
        assert_eq!(values, [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]);
        let entries = read_sweep("[sweep]\n\"train.lr\" = { linear = [0.1, 0.3], num = 1 }\n").unwrap();
        assert_eq!(entries[0].members[0].values, [Value::Float(0.1)]);
    }
}
