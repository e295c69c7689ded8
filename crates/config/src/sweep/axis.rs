//! What a sweep axis is: an entry as the file wrote it (kept as written, so that messages quote
//! the user's own values) and the axis it resolves to (values normalised to the key's type, what a
//! plan shows and a store records), with the rule the file and a profile both obey: one key, one
//! axis.

use std::collections::HashMap;

use serde::Serialize;
use toml::Value;

use crate::error::{ConfigError, Result};

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

/// How a range without `num` is drawn from when a search samples trials: uniformly, or
/// uniformly in log (log-uniform, the usual prior for a learning rate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// `{ linear = [start, end] }`.
    Linear,
    /// `{ log = [start, end] }`.
    Log,
}

impl Scale {
    /// The range's key in a file.
    pub fn as_str(self) -> &'static str {
        match self {
            Scale::Linear => "linear",
            Scale::Log => "log",
        }
    }
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
    /// key's type (an integer written for a float key shows as a float). For a continuous range,
    /// its two bounds.
    pub steps: Vec<Vec<Value>>,
    /// A range without `num`: a search that samples trials draws any value between the two
    /// bounds of `steps` on this scale; a grid cannot expand it.
    pub continuous: Option<Scale>,
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

/// One key of a sweep entry with its values as written (the two bounds of a continuous range),
/// and the table it was written in.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub key: String,
    pub values: Vec<Value>,
    pub continuous: Option<Scale>,
    pub section: String,
}

impl Member {
    /// The values as written: a list, or a continuous range.
    pub(super) fn shown(&self) -> String {
        match self.continuous {
            Some(scale) => format!("{{ {} = {} }}", scale.as_str(), Value::Array(self.values.clone())),
            None => Value::Array(self.values.clone()).to_string(),
        }
    }
}

/// A sweep entry as read from the file: a grid key, a zip group or the seeds.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub kind: AxisKind,
    pub members: Vec<Member>,
    pub section: String,
}

impl Entry {
    /// How a member is named in messages: by what the user wrote, `seeds` rather than the `seed`
    /// key it sets.
    pub(super) fn member_name(&self, member: &Member) -> String {
        match &self.kind {
            AxisKind::Seeds => "seeds".into(),
            _ => member.key.clone(),
        }
    }

    /// The member as written (`KEY = [values]`, with its zip group), for the note that says it was
    /// replaced.
    pub(super) fn describe(&self, member: &Member) -> String {
        let zip = match &self.kind {
            AxisKind::Zip(group) => format!(" (zip group {group})"),
            _ => String::new(),
        };
        format!("{} = {}{zip}", self.member_name(member), member.shown())
    }
}

/// Rejects a key swept by two entries: the runs would not say which value wins.
pub(super) fn check_duplicates(file: &str, entries: &[Entry]) -> Result<()> {
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
