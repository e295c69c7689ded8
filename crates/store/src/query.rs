//! Inspection: `pixelcnn runs`, `show` and `metrics`. Filters on experiment and status run in SQL;
//! filters on configuration values run here on the parsed JSON, because JSON operators differ
//! between SQLite and PostgreSQL.

use std::collections::HashMap;

use serde_json::Value;

use crate::Store;
use crate::error::{Result, StoreError};
use crate::model::{MetricRow, RunDetail, RunFilter};
use crate::rows::{EpochRaw, RUN_COLUMNS, RUN_FROM, RunRow, epoch_columns};

/// Parses a `--where KEY=VALUE` filter: the value is JSON when it parses (`2`, `true`, `0.5`,
/// `"a"`), else a plain string (`cpu`). The error says what is wrong with the text.
pub fn parse_where(text: &str) -> std::result::Result<(String, Value), String> {
    let (key, value) =
        text.split_once('=').ok_or_else(|| format!("`{text}` is not KEY=VALUE (e.g. model.levels=2)"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("`{text}` has no key before `=`"));
    }
    let value = value.trim();
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((key.to_owned(), value))
}

/// Walks a dotted key path (`model.levels`) into a JSON object.
fn at_path<'a>(root: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(root, |v, part| v.get(part))
}

/// Equality as a user means it on the command line: numbers by value (`2` matches `2.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Whether a run's configuration passes every `where_eq` filter. A key is looked up among the
/// varying values first (their keys are dotted paths), then in the resolved configuration.
fn matches(filter: &RunFilter, config: &Value, varying: &Value) -> bool {
    filter.where_eq.iter().all(|(key, wanted)| {
        let found = varying.get(key).or_else(|| at_path(config, key)).or_else(|| at_path(varying, key));
        found.is_some_and(|v| same(v, wanted))
    })
}

/// The SQL part of a filter: a WHERE clause over `runs r` and `experiments e`, and its values.
fn where_sql(filter: &RunFilter) -> (String, Vec<String>) {
    let mut conditions = Vec::new();
    let mut binds = Vec::new();
    if let Some(name) = &filter.experiment {
        binds.push(name.clone());
        conditions.push(format!("e.name = ${}", binds.len()));
    }
    if let Some(status) = filter.status {
        binds.push(status.as_str().to_owned());
        conditions.push(format!("r.status = ${}", binds.len()));
    }
    let clause =
        if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
    (clause, binds)
}

/// An epoch row with its run id, for `metrics`.
#[derive(sqlx::FromRow)]
struct MetricRaw {
    run_id: String,
    #[sqlx(flatten)]
    epoch: EpochRaw,
}

impl Store {
    /// Run rows matching the SQL part of a filter, oldest first.
    async fn run_rows(&self, filter: &RunFilter) -> Result<Vec<RunRow>> {
        let (clause, binds) = where_sql(filter);
        let sql = format!("SELECT {RUN_COLUMNS} {RUN_FROM} {clause} ORDER BY r.created_at, r.id");
        let mut query = sqlx::query_as::<_, RunRow>(&sql);
        for value in binds {
            query = query.bind(value);
        }
        query.fetch_all(&self.pool).await.map_err(|e| self.err(e))
    }

    /// The attempts matching `filter`, oldest first, with their last epoch and its test bits/dim.
    pub async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunDetail>> {
        let mut out = Vec::new();
        for row in self.run_rows(filter).await? {
            if !filter.where_eq.is_empty() {
                let config = self.parse_json("runs.config_json", &row.id, &row.config_json)?;
                let varying = self.parse_json("runs.varying_json", &row.id, &row.varying_json)?;
                if !matches(filter, &config, &varying) {
                    continue;
                }
            }
            out.push(self.detail(row)?);
        }
        Ok(out)
    }

    /// Everything about the attempt whose id starts with `id_prefix` (case-insensitive). An exact
    /// id always wins; a prefix shared by several ids is [`StoreError::AmbiguousPrefix`], listing
    /// them; no match is [`StoreError::RunNotFound`].
    pub async fn run(&self, id_prefix: &str) -> Result<RunDetail> {
        let prefix = id_prefix.trim().to_ascii_lowercase();
        // Run ids are UUIDs: hex digits and dashes. Anything else cannot match (and could be a
        // LIKE wildcard).
        if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(self.run_not_found(id_prefix));
        }
        let candidates: Vec<String> = sqlx::query_scalar("SELECT id FROM runs WHERE id LIKE $1 ORDER BY id")
            .bind(format!("{prefix}%"))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        let id = match candidates.as_slice() {
            [] => return Err(self.run_not_found(id_prefix)),
            [one] => one.clone(),
            many if many.contains(&prefix) => prefix,
            _ => {
                return Err(StoreError::AmbiguousPrefix {
                    db: self.db.to_string(),
                    prefix: id_prefix.to_owned(),
                    candidates,
                });
            }
        };
        let row: Option<RunRow> = sqlx::query_as(&format!("SELECT {RUN_COLUMNS} {RUN_FROM} WHERE r.id = $1"))
            .bind(&id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        // Removed between the two queries.
        let row = row.ok_or_else(|| self.run_not_found(id_prefix))?;
        self.detail(row)
    }

    /// Every epoch row of the attempts matching `filter`, each with its run's configuration: the
    /// rows of a tidy table (one per run and epoch), runs oldest first, epochs in order.
    pub async fn metrics(&self, filter: &RunFilter) -> Result<Vec<MetricRow>> {
        let mut runs = HashMap::new();
        for row in self.run_rows(filter).await? {
            let config = self.parse_json("runs.config_json", &row.id, &row.config_json)?;
            let varying = self.parse_json("runs.varying_json", &row.id, &row.varying_json)?;
            if matches(filter, &config, &varying) {
                let status = self.parse_status(&row.id, &row.status)?;
                runs.insert(row.id.clone(), (row, status, config, varying));
            }
        }
        let (clause, binds) = where_sql(filter);
        let sql = format!(
            "SELECT ep.run_id, {} FROM epochs ep JOIN runs r ON r.id = ep.run_id \
             JOIN experiments e ON e.id = r.experiment_id {clause} ORDER BY r.created_at, r.id, ep.epoch",
            epoch_columns("ep")
        );
        let mut query = sqlx::query_as::<_, MetricRaw>(&sql);
        for value in binds {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(|e| self.err(e))?;
        Ok(rows
            .into_iter()
            .filter_map(|m| {
                let (run, status, config, varying) = runs.get(&m.run_id)?;
                Some(MetricRow {
                    experiment: run.experiment.clone(),
                    status: *status,
                    config_hash: run.config_hash.clone(),
                    config: config.clone(),
                    varying: varying.clone(),
                    metrics: m.epoch.0,
                    run_id: m.run_id,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn where_values_parse_as_json_or_text() {
        assert_eq!(parse_where("model.levels=2"), Ok(("model.levels".into(), json!(2))));
        assert_eq!(parse_where("device=cpu"), Ok(("device".into(), json!("cpu"))));
        assert_eq!(parse_where("train.lr = 0.001"), Ok(("train.lr".into(), json!(0.001))));
        assert!(parse_where("model.levels").is_err());
        assert!(parse_where("=2").is_err());
    }

    #[test]
    fn filters_match_paths_and_varying_keys_numerically() {
        let config = json!({"model": {"levels": 2}, "device": "cpu"});
        let varying = json!({"model.levels": 2, "seed": 42});
        let filter = |k: &str, v: Value| RunFilter { where_eq: vec![(k.into(), v)], ..RunFilter::default() };
        assert!(matches(&filter("model.levels", json!(2.0)), &config, &varying));
        assert!(matches(&filter("seed", json!(42)), &config, &varying));
        assert!(matches(&filter("device", json!("cpu")), &config, &varying));
        assert!(!matches(&filter("model.levels", json!(256)), &config, &varying));
        assert!(!matches(&filter("model.blocks", json!(1)), &config, &varying));
    }
}
