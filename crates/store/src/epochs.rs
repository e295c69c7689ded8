//! Epoch metrics: one row per run and completed epoch, written with the epoch's artefacts in one
//! transaction, so that a crash leaves either the whole epoch or none of it.

use crate::Store;
use crate::clock;
use crate::error::Result;
use crate::lease::Lease;
use crate::model::{EpochRow, NewArtefact};
use crate::rows::{EpochRaw, epoch_columns, finite_or_null, to_u32};

impl Store {
    /// Records a completed epoch, its artefacts (pictures, the checkpoint's path and SHA-256) and
    /// a heartbeat, in one transaction, only while `lease` is current
    /// ([`crate::StoreError::LeaseLost`] otherwise, with nothing written). Idempotent per (run,
    /// epoch): recording an epoch again (a resume that re-trained it) replaces its row and its
    /// artefacts of the same kind and name, never duplicates them.
    pub async fn record_epoch(&self, lease: &Lease, row: &EpochRow, artefacts: &[NewArtefact]) -> Result<()> {
        let run_id = lease.run_id.as_str();
        let now = clock::now();
        let step =
            i64::try_from(row.step).map_err(|_| self.invalid(format!("step {} is too large", row.step)))?;
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        // The lease check (which also beats the heart) writes first, so SQLite takes the write lock
        // (waiting up to the busy timeout) before anything is read, and no takeover can slip in
        // between the check and the commit.
        self.require_lease(&mut tx, lease).await?;
        sqlx::query(
            "INSERT INTO epochs (run_id, epoch, step, train_nll, validation_nll, test_nll, test_bits_per_dim, \
             test_nats_per_image, lr, seconds, images_per_second, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (run_id, epoch) DO UPDATE SET step = excluded.step, train_nll = excluded.train_nll, \
             validation_nll = excluded.validation_nll, test_nll = excluded.test_nll, \
             test_bits_per_dim = excluded.test_bits_per_dim, test_nats_per_image = excluded.test_nats_per_image, \
             lr = excluded.lr, seconds = excluded.seconds, images_per_second = excluded.images_per_second, \
             recorded_at = excluded.recorded_at",
        )
        .bind(run_id)
        .bind(i64::from(row.epoch))
        .bind(step)
        .bind(finite_or_null(row.train_nll))
        .bind(row.validation_nll.and_then(finite_or_null))
        .bind(finite_or_null(row.test_nll))
        .bind(finite_or_null(row.test_bits_per_dim))
        .bind(finite_or_null(row.test_nats_per_image))
        .bind(finite_or_null(row.lr))
        .bind(finite_or_null(row.seconds))
        .bind(finite_or_null(row.images_per_second))
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
    pub async fn epochs(&self, run_id: &str) -> Result<Vec<EpochRow>> {
        let rows: Vec<EpochRaw> = sqlx::query_as(&format!(
            "SELECT {} FROM epochs WHERE run_id = $1 ORDER BY epoch",
            epoch_columns("")
        ))
        .bind(run_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        Ok(rows.into_iter().map(EpochRow::from).collect())
    }
}
