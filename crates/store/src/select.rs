//! Which runs a user means, and in what order: `--where KEY OP VALUE` predicates and `--sort KEY`
//! over what a person calls a run's values. A key is a field of the run (`status`, `epoch`,
//! `test_bits_per_dim` of its last epoch, ...), one of its swept values (`model.levels`, as the
//! sweep named it), or a dotted key of its resolved configuration (`train.lr`), looked up in that
//! order. The same lookup serves `runs`, `metrics` and the server, so a key means one thing.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::model::{RunDetail, RunFilter};

/// The comparison of a [`Predicate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `=`: equal (numbers by value: `2` matches `2.0`).
    Eq,
    /// `!=`: not equal, or missing.
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    /// The operators as typed, two-character ones first so that `<=` is not read as `<`.
    const TEXT: [(&'static str, Op); 6] =
        [("<=", Op::Le), (">=", Op::Ge), ("!=", Op::Ne), ("=", Op::Eq), ("<", Op::Lt), (">", Op::Gt)];

    fn text(self) -> &'static str {
        Self::TEXT.iter().find(|(_, op)| *op == self).map(|(t, _)| *t).expect("every op has a text")
    }
}

/// One `--where` condition, e.g. `model.levels=256` or `test_bits_per_dim<0.15`.
#[derive(Clone, Debug, PartialEq)]
pub struct Predicate {
    /// The key (see the module documentation).
    pub key: String,
    /// How the run's value compares with `value`.
    pub op: Op,
    /// The value typed: JSON when it parses (`2`, `true`, `0.5`, `"a"`), else a plain string.
    pub value: Value,
}

impl FromStr for Predicate {
    type Err = String;

    /// Parses `KEY=VALUE`, `KEY!=VALUE`, `KEY<VALUE`, `KEY<=VALUE`, `KEY>VALUE` or `KEY>=VALUE`;
    /// the error says what is wrong with the text.
    fn from_str(text: &str) -> Result<Self, String> {
        let (at, op, width) = Op::TEXT
            .iter()
            .filter_map(|(t, op)| text.find(t).map(|at| (at, *op, t.len())))
            // The leftmost operator; at one place the two-character one (listed first) wins.
            .min_by_key(|(at, _, _)| *at)
            .ok_or_else(|| {
                format!("`{text}` has no comparison (e.g. model.levels=2 or test_bits_per_dim<0.15)")
            })?;
        let key = text[..at].trim();
        if key.is_empty() {
            return Err(format!("`{text}` has no key before `{}`", op.text()));
        }
        let value = text[at + width..].trim();
        if value.is_empty() {
            return Err(format!("`{text}` has no value after `{}`", op.text()));
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        if matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge) && !value.is_number() {
            return Err(format!("`{text}`: `{}` compares numbers, and {value} is not one", op.text()));
        }
        Ok(Predicate { key: key.to_owned(), op, value })
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.key, self.op.text(), self.value)
    }
}

impl Predicate {
    /// Whether a run whose value of the key is `found` passes. A run without the key passes only
    /// `!=`; an ordering holds only between numbers.
    pub fn holds(&self, found: Option<&Value>) -> bool {
        let Some(found) = found else { return self.op == Op::Ne };
        let order = compare_values(found, &self.value);
        match self.op {
            Op::Eq => order == Some(Ordering::Equal),
            Op::Ne => order != Some(Ordering::Equal),
            // The parser gives orderings a number, and a number orders only against a number.
            Op::Lt => order == Some(Ordering::Less),
            Op::Le => matches!(order, Some(Ordering::Less | Ordering::Equal)),
            Op::Gt => order == Some(Ordering::Greater),
            Op::Ge => matches!(order, Some(Ordering::Greater | Ordering::Equal)),
        }
    }

    /// Whether `run` passes.
    pub fn selects(&self, run: &RunDetail) -> bool {
        self.holds(run.value(&self.key).as_ref())
    }
}

/// Numbers by value, strings alphabetically, other values equal only when identical.
fn compare_values(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => (a == b).then_some(Ordering::Equal),
    }
}

/// Walks a dotted key path (`model.levels`) into a JSON object.
fn at_path<'a>(root: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(root, |v, part| v.get(part))
}

impl RunDetail {
    /// The value `key` names for this run (see the module documentation): a run field (`id`,
    /// `experiment`, `status`, `epoch`, `test_bits_per_dim`, `created_at`, `device`, `tags`,
    /// `note`), a swept value, or a dotted key of the resolved configuration.
    pub fn value(&self, key: &str) -> Option<Value> {
        match key {
            "id" => Some(Value::from(self.id.clone())),
            "experiment" => Some(Value::from(self.experiment.clone())),
            "status" => Some(Value::from(self.status.as_str())),
            "epoch" => self.last_epoch.map(Value::from),
            "test_bits_per_dim" => self.last_test_bits_per_dim.map(Value::from),
            "created_at" => Some(Value::from(self.created_at.clone())),
            "device" => self.device.clone().map(Value::from),
            "tags" => Some(Value::from(self.run.tags.join(","))),
            "note" => self.run.note.clone().map(Value::from),
            _ => {
                let varying = &self.run.varying;
                varying
                    .get(key)
                    .or_else(|| at_path(&self.run.config, key))
                    .or_else(|| at_path(varying, key))
                    .cloned()
            }
        }
    }
}

impl RunFilter {
    /// Whether `run` passes the parts of the filter that are not SQL: its tag and predicates.
    pub fn selects(&self, run: &RunDetail) -> bool {
        self.tag.as_ref().is_none_or(|tag| run.run.tags.contains(tag))
            && self.predicates.iter().all(|p| p.selects(run))
    }
}

/// Orders runs by the value of `key`, ascending (or `descending`): numbers by value, then text;
/// runs without the key last either way, in their previous order.
pub fn sort_by_key(runs: &mut [RunDetail], key: &str, descending: bool) {
    runs.sort_by_cached_key(|run| SortKey(run.value(key)));
    if descending {
        let present = runs.iter().take_while(|r| r.value(key).is_some()).count();
        runs[..present].reverse();
    }
}

/// A run's value as a sort key: present before missing, numbers before text.
#[derive(PartialEq)]
struct SortKey(Option<Value>);

impl Eq for SortKey {}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        let rank = |v: &Option<Value>| match v {
            Some(Value::Number(_)) => 0,
            Some(_) => 1,
            None => 2,
        };
        match (&self.0, &other.0) {
            (Some(a), Some(b)) if rank(&self.0) == rank(&other.0) => {
                compare_values(a, b).unwrap_or_else(|| a.to_string().cmp(&b.to_string()))
            }
            _ => rank(&self.0).cmp(&rank(&other.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(text: &str) -> Predicate {
        text.parse().unwrap()
    }

    #[test]
    fn predicates_parse_each_operator_and_type_their_values() {
        assert_eq!(
            parse("model.levels=2"),
            Predicate { key: "model.levels".into(), op: Op::Eq, value: json!(2) }
        );
        assert_eq!(parse("device = cpu").value, json!("cpu"));
        assert_eq!(parse("test_bits_per_dim<0.15").op, Op::Lt);
        assert_eq!(parse("test_bits_per_dim<=0.15").op, Op::Le);
        assert_eq!(parse("epoch>=3").op, Op::Ge);
        assert_eq!(parse("epoch>3").op, Op::Gt);
        assert_eq!(
            parse("status!=failed"),
            Predicate { key: "status".into(), op: Op::Ne, value: json!("failed") }
        );
        // The leftmost operator splits: a value may hold another.
        assert_eq!(parse("note=a<b").value, json!("a<b"));
        for bad in ["model.levels", "=2", "epoch<", "status<finished"] {
            let err = bad.parse::<Predicate>().unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }

    #[test]
    fn predicates_compare_numbers_by_value_and_text_for_equality() {
        assert!(parse("x=2").holds(Some(&json!(2.0))));
        assert!(!parse("x=2").holds(Some(&json!(256))));
        assert!(parse("x<0.15").holds(Some(&json!(0.1))));
        assert!(!parse("x<0.15").holds(Some(&json!(0.15))));
        assert!(parse("x<=0.15").holds(Some(&json!(0.15))));
        assert!(parse("x>1").holds(Some(&json!(2))) && !parse("x>1").holds(Some(&json!("2"))));
        assert!(parse("x=cpu").holds(Some(&json!("cpu"))) && parse("x!=cpu").holds(Some(&json!("flex"))));
        // A run without the key passes only `!=`.
        assert!(!parse("x=2").holds(None) && !parse("x<2").holds(None) && parse("x!=2").holds(None));
    }

    #[test]
    fn sort_keys_put_numbers_first_and_missing_values_last() {
        let mut keys = vec![
            SortKey(None),
            SortKey(Some(json!("b"))),
            SortKey(Some(json!(0.9))),
            SortKey(Some(json!("a"))),
            SortKey(Some(json!(0.1))),
        ];
        keys.sort();
        let order: Vec<Option<Value>> = keys.into_iter().map(|k| k.0).collect();
        assert_eq!(order, [Some(json!(0.1)), Some(json!(0.9)), Some(json!("a")), Some(json!("b")), None]);
    }
}
