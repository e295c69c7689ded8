//! Dotted keys (`train.lr`) over TOML tables: sweep axes, profiles and `--set` name a key that
//! way, while a configuration is nested tables.

use toml::Value;

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

/// A value that nests tables: TOML (experiment files) and JSON (stored configurations), so that
/// one [`flatten`] serves both.
pub trait Nested: Clone {
    /// Its entries, when it is a table.
    fn entries(&self) -> Option<impl Iterator<Item = (&str, &Self)>>;
}

impl Nested for Value {
    fn entries(&self) -> Option<impl Iterator<Item = (&str, &Self)>> {
        self.as_table().map(|t| t.iter().map(|(k, v)| (k.as_str(), v)))
    }
}

impl Nested for serde_json::Value {
    fn entries(&self) -> Option<impl Iterator<Item = (&str, &Self)>> {
        self.as_object().map(|m| m.iter().map(|(k, v)| (k.as_str(), v)))
    }
}

/// Every leaf of a nested value under its dotted key (`train.lr`), in the tables' order; arrays
/// and other non-table values are leaves. How sweep axes, `--set`, `pixelcnn metrics` columns and
/// the report's differing keys all name a configuration's values.
pub fn flatten<V: Nested>(value: &V) -> Vec<(String, V)> {
    fn walk<V: Nested>(prefix: &str, value: &V, out: &mut Vec<(String, V)>) {
        match value.entries() {
            Some(entries) => {
                for (key, inner) in entries {
                    let path = if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") };
                    walk(&path, inner, out);
                }
            }
            None => out.push((prefix.to_owned(), value.clone())),
        }
    }
    let mut out = Vec::new();
    walk("", value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn flatten_names_leaves_by_dotted_path_in_toml_and_json() {
        let json = serde_json::json!({"seed": 1, "train": {"lr": 0.001, "epochs": 3}, "tags": [1, 2]});
        let keys: Vec<String> = flatten(&json).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["seed", "tags", "train.epochs", "train.lr"]);
        let toml: Value = "seed = 1\n[train]\nlr = 0.001\n".parse::<toml::Table>().unwrap().into();
        assert_eq!(
            flatten(&toml),
            [("seed".to_owned(), Value::Integer(1)), ("train.lr".to_owned(), Value::Float(0.001))]
        );
    }
}
