//! Artefacts: pictures kept in the database, files (checkpoints) kept on disk with their path and
//! SHA-256, and which files `pixelcnn gc` may delete.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::SqliteConnection;

use crate::Store;
use crate::clock;
use crate::error::Result;
use crate::lease::Lease;
use crate::model::{Artefact, ArtefactContent, ArtefactKind, NewArtefact, Retention};
use crate::rows::{ARTEFACT_COLUMNS, ArtefactRaw};

impl Store {
    /// Records an artefact outside an epoch's transaction (pictures drawn after training, say),
    /// only while `lease` is current. Recording the same run, epoch, kind and name again replaces
    /// it. Returns its id.
    pub async fn add_artefact(&self, lease: &Lease, epoch: u32, artefact: &NewArtefact) -> Result<String> {
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        self.require_lease(&mut tx, lease).await?;
        let id = self.upsert_artefact(&mut tx, &lease.run_id, epoch, artefact, &clock::now()).await?;
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(id)
    }

    /// Inserts or replaces one artefact (keyed by run, epoch, kind and name) and returns its id.
    /// A re-recorded file is live again (`deleted_at` cleared): the worker has just written it.
    pub(crate) async fn upsert_artefact(
        &self,
        conn: &mut SqliteConnection,
        run_id: &str,
        epoch: u32,
        artefact: &NewArtefact,
        now: &str,
    ) -> Result<String> {
        let (data, path, sha256, size) = match &artefact.content {
            ArtefactContent::Blob(bytes) => (Some(bytes.as_slice()), None, None, Some(bytes.len() as u64)),
            ArtefactContent::File { path, sha256, size_bytes } => {
                (None, Some(path.as_str()), Some(sha256.as_str()), *size_bytes)
            }
        };
        let size = size.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
        sqlx::query_scalar(
            "INSERT INTO artefacts (id, run_id, epoch, kind, name, media_type, data, path, sha256, size_bytes, \
             created_at, deleted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL) \
             ON CONFLICT (run_id, epoch, kind, name) DO UPDATE SET media_type = excluded.media_type, \
             data = excluded.data, path = excluded.path, sha256 = excluded.sha256, \
             size_bytes = excluded.size_bytes, created_at = excluded.created_at, deleted_at = NULL \
             RETURNING id",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(run_id)
        .bind(i64::from(epoch))
        .bind(artefact.kind.as_str())
        .bind(&artefact.name)
        .bind(&artefact.media_type)
        .bind(data)
        .bind(path)
        .bind(sha256)
        .bind(size)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| self.err(e))
    }

    /// The artefacts of a run (including deleted files, marked so), by epoch, kind and name.
    pub async fn artefacts(&self, run_id: &str) -> Result<Vec<Artefact>> {
        let rows: Vec<ArtefactRaw> = sqlx::query_as(&format!(
            "SELECT {ARTEFACT_COLUMNS} FROM artefacts a WHERE a.run_id = $1 ORDER BY a.epoch, a.kind, a.name"
        ))
        .bind(run_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        rows.into_iter().map(|a| self.artefact(a)).collect()
    }

    /// The bytes of a picture artefact; `None` for files (read them at their path) and unknown ids.
    pub async fn artefact_data(&self, artefact_id: &str) -> Result<Option<Vec<u8>>> {
        let data: Option<Option<Vec<u8>>> = sqlx::query_scalar("SELECT data FROM artefacts WHERE id = $1")
            .bind(artefact_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        Ok(data.flatten())
    }

    /// Records that an artefact's file was deleted (by retention or `gc`); its row stays as
    /// history. Returns false for an unknown id.
    pub async fn mark_artefact_deleted(&self, artefact_id: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE artefacts SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
            .bind(artefact_id)
            .bind(clock::now())
            .execute(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        Ok(done.rows_affected() == 1)
    }

    /// The live files that may be deleted: every file of a removed run, and the checkpoints of
    /// existing runs that their own retention does not keep. A run's retention is the
    /// `checkpoint.keep_last` / `checkpoint.keep_best` of its stored configuration (see
    /// [`Retention::of_config`]); `fallback` stands in for a key the stored configuration lacks
    /// (rows written before it had one). Kept are the last `keep_last` epochs' checkpoints and,
    /// with `keep_best`, the best epoch's, by validation NLL when recorded, else test NLL. The
    /// caller deletes each file, then calls [`Store::mark_artefact_deleted`].
    pub async fn gc_candidates(&self, fallback: Retention) -> Result<Vec<Artefact>> {
        let rows: Vec<ArtefactRaw> = sqlx::query_as(&format!(
            "SELECT {ARTEFACT_COLUMNS} FROM artefacts a \
             WHERE a.path IS NOT NULL AND a.deleted_at IS NULL ORDER BY a.run_id, a.epoch, a.name"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        let runs: Vec<(String, String)> = sqlx::query_as("SELECT id, config_json FROM runs")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        let mut retention = BTreeMap::new();
        for (id, config_json) in runs {
            let config = self.parse_json("runs.config_json", &id, &config_json)?;
            let own = Retention::of_config(&config, fallback)
                .map_err(|message| self.bad_value("runs.config_json", &id, message))?;
            retention.insert(id, own);
        }
        let keep = self.kept_checkpoints(&retention).await?;
        let mut out = Vec::new();
        for raw in rows {
            let artefact = self.artefact(raw)?;
            let removed = !retention.contains_key(&artefact.run_id);
            let pruned = artefact.kind == ArtefactKind::Checkpoint
                && !keep.get(&artefact.run_id).is_some_and(|epochs| epochs.contains(&artefact.epoch));
            if removed || pruned {
                out.push(artefact);
            }
        }
        Ok(out)
    }

    /// Per existing run, the epochs whose checkpoints its own retention (in `retention`, by run
    /// id) keeps. The one place that applies the keep-last / keep-best rule to stored runs.
    async fn kept_checkpoints(
        &self,
        retention: &BTreeMap<String, Retention>,
    ) -> Result<BTreeMap<String, BTreeSet<u32>>> {
        // Live checkpoints of existing runs with their epoch's metrics (NULL when the epoch row is
        // missing, e.g. a checkpoint recorded on its own).
        let rows: Vec<(String, i64, Option<f64>, Option<f64>)> = sqlx::query_as(
            "SELECT a.run_id, a.epoch, e.validation_nll, e.test_nll FROM artefacts a \
             JOIN runs r ON r.id = a.run_id \
             LEFT JOIN epochs e ON e.run_id = a.run_id AND e.epoch = a.epoch \
             WHERE a.kind = 'checkpoint' AND a.path IS NOT NULL AND a.deleted_at IS NULL \
             ORDER BY a.run_id, a.epoch",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        let mut by_run: BTreeMap<String, Vec<(u32, Option<f64>)>> = BTreeMap::new();
        for (run_id, epoch, validation, test) in rows {
            let score = validation.or(test).filter(|v| v.is_finite());
            by_run.entry(run_id).or_default().push((crate::rows::to_u32(epoch), score));
        }
        let mut keep = BTreeMap::new();
        for (run_id, checkpoints) in by_run {
            // A run created between the two queries is not in `retention`: keep all of its
            // checkpoints this time.
            let Some(retention) = retention.get(&run_id).copied() else {
                keep.insert(run_id, checkpoints.iter().map(|(e, _)| *e).collect());
                continue;
            };
            let mut epochs: BTreeSet<u32> = BTreeSet::new();
            // Ordered by epoch: the last ones are at the end.
            epochs.extend(checkpoints.iter().rev().take(retention.keep_last as usize).map(|(e, _)| *e));
            if retention.keep_best {
                let best = checkpoints
                    .iter()
                    .filter_map(|(e, s)| s.map(|s| (*e, s)))
                    .min_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
                epochs.extend(best.map(|(e, _)| e));
            }
            keep.insert(run_id, epochs);
        }
        Ok(keep)
    }
}
