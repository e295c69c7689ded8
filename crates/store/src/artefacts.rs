//! Artefacts: pictures kept in the database, files (checkpoints) kept on disk with their path and
//! SHA-256, and which files `pixelcnn gc` may delete.

use std::collections::{BTreeMap, BTreeSet};

use pixelcnn_record::{ArtefactKind, Retention, best_epoch};
use sqlx::AnyConnection;

use crate::Store;
use crate::error::Result;
use crate::lease::Lease;
use crate::model::{Artefact, ArtefactContent, NewArtefact};
use crate::rows::{ARTEFACT_COLUMNS, ArtefactRaw};

impl Store {
    /// Records an artefact outside an epoch's transaction (pictures drawn after training, say),
    /// only while `lease` is current. Recording the same run, epoch, kind and name again replaces
    /// it. Returns its id.
    pub async fn add_artefact(&self, lease: &Lease, epoch: u32, artefact: &NewArtefact) -> Result<String> {
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        self.require_lease(&mut tx, lease).await?;
        let id = self.upsert_artefact(&mut tx, &lease.run_id, epoch, artefact, &self.clock.now()).await?;
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(id)
    }

    /// Inserts or replaces one artefact (keyed by run, epoch, kind and name) and returns its id.
    /// A re-recorded file is live again (`deleted_at` cleared): the worker has just written it.
    pub(crate) async fn upsert_artefact(
        &self,
        conn: &mut AnyConnection,
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

    /// The artefacts of a run (including deleted files, marked so), by epoch, kind and name (in
    /// byte order, sorted here: PostgreSQL's `ORDER BY` on text follows the database's locale).
    pub async fn artefacts(&self, run_id: &str) -> Result<Vec<Artefact>> {
        let mut rows: Vec<ArtefactRaw> =
            sqlx::query_as(&format!("SELECT {ARTEFACT_COLUMNS} FROM artefacts a WHERE a.run_id = $1"))
                .bind(run_id)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.err(e))?;
        rows.sort_by(|a, b| (a.epoch, &a.kind, &a.name).cmp(&(b.epoch, &b.kind, &b.name)));
        rows.into_iter().map(|a| self.artefact(a)).collect()
    }

    /// The live pictures of every run of experiment `name`, without their bytes, by run, epoch,
    /// kind and name: what a page links to, in one query however many runs there are.
    pub async fn experiment_pictures(&self, name: &str) -> Result<Vec<Artefact>> {
        let mut rows: Vec<ArtefactRaw> = sqlx::query_as(&format!(
            "SELECT {ARTEFACT_COLUMNS} FROM artefacts a JOIN runs r ON r.id = a.run_id \
             JOIN experiments e ON e.id = r.experiment_id \
             WHERE e.name = $1 AND a.data IS NOT NULL AND a.deleted_at IS NULL"
        ))
        .bind(name)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        rows.sort_by(|a, b| {
            (&a.run_id, a.epoch, &a.kind, &a.name).cmp(&(&b.run_id, b.epoch, &b.kind, &b.name))
        });
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
            .bind(self.clock.now())
            .execute(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        Ok(done.rows_affected() == 1)
    }

    /// The live files that may be deleted: every file of a removed run, and the checkpoints of
    /// existing runs that their own retention does not keep. A run's retention is the
    /// `[checkpoint]` section of its stored configuration (`keep_last`, `keep_best`, each key
    /// defaulting as in a configuration file when the stored row predates it), applied by
    /// [`Retention::kept`] with the run's [`best_epoch`]: the rule the trainer applies after each
    /// epoch. The caller deletes each file, then calls [`Store::mark_artefact_deleted`].
    pub async fn gc_candidates(&self) -> Result<Vec<Artefact>> {
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
            let own =
                retention_of(&config).map_err(|message| self.bad_value("runs.config_json", &id, message))?;
            retention.insert(id, own);
        }
        let artefacts = rows.into_iter().map(|raw| self.artefact(raw)).collect::<Result<Vec<_>>>()?;
        let mut checkpoints: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
        for a in artefacts.iter().filter(|a| a.kind == ArtefactKind::Checkpoint) {
            checkpoints.entry(a.run_id.as_str()).or_default().insert(a.epoch);
        }
        let mut kept: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
        for (run_id, epochs) in &checkpoints {
            if let Some(own) = retention.get(*run_id) {
                let best = best_epoch(&self.epochs(run_id).await?).map(|b| b.epoch);
                kept.insert(run_id, own.kept(epochs, best));
            }
        }
        Ok(artefacts
            .iter()
            .filter(|a| {
                let removed = !retention.contains_key(&a.run_id);
                let pruned = a.kind == ArtefactKind::Checkpoint
                    && !kept.get(a.run_id.as_str()).is_some_and(|epochs| epochs.contains(&a.epoch));
                removed || pruned
            })
            .cloned()
            .collect())
    }
}

/// The retention a stored configuration asks for: its `checkpoint` section read as a
/// [`Retention`] (absent keys take their defaults). A key with a value of the wrong kind is an
/// error naming the key, never read as "keep nothing".
fn retention_of(config: &serde_json::Value) -> std::result::Result<Retention, String> {
    let section = match config.get("checkpoint") {
        None | Some(serde_json::Value::Null) => return Ok(Retention::default()),
        Some(section) => section,
    };
    serde_json::from_value(section.clone()).map_err(|e| {
        // serde names the problem, not the key: find the key that fails on its own.
        let alone = |key: &String, value: &serde_json::Value| {
            serde_json::from_value::<Retention>(serde_json::json!({ key: value })).is_err()
        };
        match section.as_object().and_then(|map| map.iter().find(|(k, v)| alone(k, v))) {
            Some((key, value)) => format!("checkpoint.{key} is {value}: {e}"),
            None => format!("checkpoint: {e}"),
        }
    })
}
