//! Where each key of an experiment file was written: the sweep reader orders axes, and the keys
//! of a zip group, by it.

use std::collections::HashMap;

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
