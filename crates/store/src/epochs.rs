//! Epoch metrics: one row per run and completed epoch, written with the epoch's artefacts in one
//! transaction, so that a crash leaves either the whole epoch or none of it.

use std::sync::OnceLock;

use pixelcnn_record::EpochMetrics;

use crate::Store;
use crate::error::Result;
use crate::lease::Lease;
use crate::model::NewArtefact;
use crate::rows::{EpochRaw, epoch_columns, to_u32};

impl Store {
    /// Records a completed epoch, its artefacts (pictures, the checkpoint's path and SHA-256) and
    /// a heartbeat, in one transaction, only while `lease` is current
    /// ([`crate::StoreError::LeaseLost`] otherwise, with nothing written). Idempotent per (run,
    /// epoch): recording an epoch again (a resume that re-trained it) replaces its row and its
    /// artefacts of the same kind and name, never duplicates them.
    pub async fn record_epoch(
        &self,
        lease: &Lease,
        row: &EpochMetrics,
        artefacts: &[NewArtefact],
    ) -> Result<()> {
        let run_id = lease.run_id.as_str();
        let now = self.clock.now();
        let step =
            i64::try_from(row.step).map_err(|_| self.invalid(format!("step {} is too large", row.step)))?;
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        // The lease check (which also beats the heart) writes first, so SQLite takes the write lock
        // (waiting up to the busy timeout) before anything is read, and no takeover can slip in
        // between the check and the commit.
        self.require_lease(&mut tx, lease).await?;
        let mut insert = sqlx::query(insert_sql()).bind(run_id).bind(i64::from(row.epoch)).bind(step);
        for value in row.values() {
            insert = insert.bind(value);
        }
        insert
            .bind(&now)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err_writing(&format!("epoch {} of run {run_id}", row.epoch), e))?;
        for artefact in artefacts {
            self.upsert_artefact(&mut tx, run_id, row.epoch, artefact, &now).await?;
        }
        tx.commit().await.map_err(|e| self.err(e))
    }

    /// The last completed epoch of a run (0 when none): a resume continues after it.
    pub async fn last_epoch(&self, run_id: &str) -> Result<u32> {
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(epoch) FROM epochs WHERE run_id = $1")
            .bind(run_id)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        Ok(last.map(to_u32).unwrap_or(0))
    }

    /// Every recorded epoch of a run, in order.
    pub async fn epochs(&self, run_id: &str) -> Result<Vec<EpochMetrics>> {
        let rows: Vec<EpochRaw> = sqlx::query_as(&format!(
            "SELECT {} FROM epochs WHERE run_id = $1 ORDER BY epoch",
            epoch_columns("")
        ))
        .bind(run_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}

/// The upsert of one epoch row, its columns from [`EpochMetrics::METRICS`]: `$1` run, `$2` epoch,
/// `$3` step, then one placeholder per metric, then the time recorded.
fn insert_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let metrics: Vec<&str> = EpochMetrics::METRICS.iter().map(|m| m.name).collect();
        let placeholders: Vec<String> = (4..4 + metrics.len()).map(|i| format!("${i}")).collect();
        let updates: Vec<String> = metrics.iter().map(|m| format!("{m} = excluded.{m}")).collect();
        format!(
            "INSERT INTO epochs (run_id, epoch, step, {}, recorded_at) VALUES ($1, $2, $3, {}, ${}) \
             ON CONFLICT (run_id, epoch) DO UPDATE SET step = excluded.step, {}, recorded_at = excluded.recorded_at",
            metrics.join(", "),
            placeholders.join(", "),
            4 + metrics.len(),
            updates.join(", ")
        )
    })
}
