//! Inspection: `pixelcnn runs`, `show` and `metrics`. Filters on experiment and status run in SQL;
//! tags and `--where` predicates run here on the parsed run (`select.rs`), because JSON operators
//! differ between SQLite and PostgreSQL.

use std::collections::HashMap;

use pixelcnn_record::EpochMetrics;

use crate::Store;
use crate::error::{Result, StoreError};
use crate::model::{MetricRow, RunDetail, RunFilter, RunSummary};
use crate::rows::{EpochRaw, RUN_COLUMNS, RUN_FROM, RunRow, epoch_columns};

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
            let detail = self.detail(row)?;
            if filter.selects(&detail) {
                out.push(detail);
            }
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

    /// Every epoch of every run of experiment `name`, by run id, in order: the curves of a page in
    /// one query, without the configuration that [`Store::metrics`] repeats on each row.
    pub async fn experiment_epochs(&self, name: &str) -> Result<HashMap<String, Vec<EpochMetrics>>> {
        let sql = format!(
            "SELECT ep.run_id, {} FROM epochs ep JOIN runs r ON r.id = ep.run_id \
             JOIN experiments e ON e.id = r.experiment_id WHERE e.name = $1 ORDER BY ep.run_id, ep.epoch",
            epoch_columns("ep")
        );
        let rows: Vec<MetricRaw> =
            sqlx::query_as(&sql).bind(name).fetch_all(&self.pool).await.map_err(|e| self.err(e))?;
        let mut out: HashMap<String, Vec<EpochMetrics>> = HashMap::new();
        for m in rows {
            out.entry(m.run_id).or_default().push(m.epoch.0);
        }
        Ok(out)
    }

    /// Every epoch of the runs `ids` (full ids), by run id, in order: the curves a page shows.
    pub async fn epochs_of_runs(&self, ids: &[String]) -> Result<HashMap<String, Vec<EpochMetrics>>> {
        let mut out: HashMap<String, Vec<EpochMetrics>> = HashMap::new();
        // A few hundred placeholders per statement stay within every engine's limits.
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT ep.run_id, {} FROM epochs ep WHERE ep.run_id IN ({}) ORDER BY ep.run_id, ep.epoch",
                epoch_columns("ep"),
                placeholders.join(", ")
            );
            let mut query = sqlx::query_as::<_, MetricRaw>(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            for m in query.fetch_all(&self.pool).await.map_err(|e| self.err(e))? {
                out.entry(m.run_id).or_default().push(m.epoch.0);
            }
        }
        Ok(out)
    }

    /// Per run of experiment `name`: its lowest test bits/dim over all epochs and its last epoch's
    /// validation NLL and images/s, computed by the database (a runs table over thousands of
    /// epochs without reading them).
    pub async fn run_summaries(&self, name: &str) -> Result<HashMap<String, RunSummary>> {
        let best: Vec<(String, Option<f64>)> = sqlx::query_as(
            "SELECT ep.run_id, MIN(ep.test_bits_per_dim) FROM epochs ep JOIN runs r ON r.id = ep.run_id \
             JOIN experiments e ON e.id = r.experiment_id WHERE e.name = $1 GROUP BY ep.run_id",
        )
        .bind(name)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        let last: Vec<(String, Option<f64>, Option<f64>)> = sqlx::query_as(
            "SELECT ep.run_id, ep.validation_nll, ep.images_per_second FROM epochs ep \
             JOIN runs r ON r.id = ep.run_id JOIN experiments e ON e.id = r.experiment_id \
             WHERE e.name = $1 AND ep.epoch = (SELECT MAX(l.epoch) FROM epochs l WHERE l.run_id = ep.run_id)",
        )
        .bind(name)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        let mut out: HashMap<String, RunSummary> = HashMap::new();
        for (id, best) in best {
            out.entry(id).or_default().best_test_bits_per_dim = best;
        }
        for (id, validation, speed) in last {
            let summary = out.entry(id).or_default();
            summary.last_validation_nll = validation;
            summary.last_images_per_second = speed;
        }
        Ok(out)
    }

    /// Every epoch row of the attempts matching `filter`, each with its run's configuration: the
    /// rows of a tidy table (one per run and epoch), runs oldest first, epochs in order.
    pub async fn metrics(&self, filter: &RunFilter) -> Result<Vec<MetricRow>> {
        let mut runs = HashMap::new();
        for row in self.run_rows(filter).await? {
            let detail = self.detail(row)?;
            if filter.selects(&detail) {
                runs.insert(detail.id.clone(), detail);
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
                let run = runs.get(&m.run_id)?;
                Some(MetricRow {
                    experiment: run.experiment.clone(),
                    status: run.status,
                    config_hash: run.run.config_hash.clone(),
                    config: run.run.config.clone(),
                    varying: run.run.varying.clone(),
                    metrics: m.epoch.0,
                    run_id: m.run_id,
                })
            })
            .collect())
    }
}
