//! Adaptive searches: which search a configuration of an experiment takes part in, recorded by
//! each sweep before it claims or queues anything, so that a worker, local or a Slurm task, finds
//! the rules of its run from the run alone.

use pixelcnn_record::{Asha, Promotion, RungMetric};
use serde::Serialize;

use crate::Store;
use crate::error::Result;
use crate::rows::to_u32;

/// A search as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Search {
    /// Its id, chosen by the caller so that the same file, profile and settings find the same
    /// search again (a restarted sweep continues it; see `pixelcnn_config`'s search id).
    pub id: String,
    /// The experiment whose runs it compares.
    pub experiment_id: String,
    /// Its settings.
    pub asha: Asha,
}

impl Store {
    /// Records that `config_hashes` of experiment `experiment_id` now take part in `search`
    /// (created when new; an existing one takes its `max_epochs`, the one setting its id leaves
    /// out, so that raising it continues the search), or, with `None`, in no search: a grid or
    /// random sweep of the same configurations trains them to the end. One transaction, before any
    /// claim of the sweep.
    pub async fn join_search(
        &self,
        experiment_id: &str,
        search: Option<&Search>,
        config_hashes: &[String],
    ) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        if let Some(s) = search {
            sqlx::query(
                "INSERT INTO searches (id, experiment_id, metric, reduction_factor, grace_epochs, max_epochs, created_at, promotion) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO UPDATE SET max_epochs = excluded.max_epochs",
            )
            .bind(&s.id)
            .bind(experiment_id)
            .bind(s.asha.metric.as_str())
            .bind(i64::from(s.asha.reduction_factor))
            .bind(i64::from(s.asha.grace_epochs))
            .bind(i64::from(s.asha.max_epochs))
            .bind(&now)
            .bind(s.asha.promotion.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err_writing(&format!("search {}", s.id), e))?;
        }
        for hash in config_hashes {
            match search {
                Some(s) => sqlx::query(
                    "INSERT INTO search_configs (experiment_id, config_hash, search_id, joined_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (experiment_id, config_hash) \
                     DO UPDATE SET search_id = excluded.search_id, joined_at = excluded.joined_at",
                )
                .bind(experiment_id)
                .bind(hash)
                .bind(&s.id)
                .bind(&now),
                None => {
                    sqlx::query("DELETE FROM search_configs WHERE experiment_id = $1 AND config_hash = $2")
                        .bind(experiment_id)
                        .bind(hash)
                }
            }
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err_writing("search membership", e))?;
        }
        tx.commit().await.map_err(|e| self.err(e))
    }

    /// The search run `run_id` takes part in: its configuration's in its experiment. `None` for a
    /// run outside any search, and for reruns (they repeat a run's epochs to check them; nothing
    /// is decided for them).
    pub async fn search_of(&self, run_id: &str) -> Result<Option<Search>> {
        type Row = (String, String, String, i64, i64, i64, String);
        let row: Option<Row> = sqlx::query_as(
            "SELECT s.id, s.experiment_id, s.metric, s.reduction_factor, s.grace_epochs, s.max_epochs, s.promotion \
             FROM runs r \
             JOIN search_configs m ON m.experiment_id = r.experiment_id AND m.config_hash = r.config_hash \
             JOIN searches s ON s.id = m.search_id \
             WHERE r.id = $1 AND r.rerun_of IS NULL",
        )
        .bind(run_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        row.map(|(id, experiment_id, metric, eta, grace, max, promotion)| {
            Ok(Search {
                asha: Asha {
                    metric: self.parse_metric("searches.metric", &id, &metric)?,
                    reduction_factor: to_u32(eta),
                    grace_epochs: to_u32(grace),
                    max_epochs: to_u32(max),
                    promotion: promotion
                        .parse::<Promotion>()
                        .map_err(|e| self.bad_value("searches.promotion", &id, e))?,
                },
                id,
                experiment_id,
            })
        })
        .transpose()
    }

    /// Parses a stored rung metric.
    pub(crate) fn parse_metric(&self, column: &str, id: &str, text: &str) -> Result<RungMetric> {
        text.parse().map_err(|e: String| self.bad_value(column, id, e))
    }
}
