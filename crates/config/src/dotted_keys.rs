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
}
