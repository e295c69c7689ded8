//! The life of an execution attempt: created (queued), claimed (running, with a worker, a lease
//! and a heartbeat), ended (finished, failed or interrupted; pruned by a rung decision, see
//! `searches.rs`), removed. Every state change is one
//! conditional statement, so concurrent schedulers on one database cannot both win, and a worker
//! changes its run only while it holds the run's current lease (see `lease.rs`).

use std::time::Duration;

use sqlx::AnyConnection;

use crate::Store;
use crate::error::{Result, StoreError};
use crate::lease::{Lease, lapsed};
use crate::model::{NewRun, RunDetail, Worker};
use pixelcnn_record::RunStatus;

impl Store {
    /// Creates an attempt in status `queued` and returns its id (a rerun, with `run.rerun_of`,
    /// is invisible to sweeps' resume and dedup decisions: it verifies an attempt, it does not
    /// continue it). Fails with
    /// [`StoreError::ActiveAttemptExists`] when the configuration already has a queued or running
    /// attempt: the schema allows one at a time.
    pub async fn create_run(&self, run: &NewRun) -> Result<String> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.err(e))?;
        let id = uuid::Uuid::new_v4().to_string();
        self.insert_run(&mut conn, &id, run, None).await?;
        Ok(id)
    }

    /// Inserts an attempt row: `queued`, or already claimed (`running`, with a lease) when
    /// `worker` is given. Returns the lease of a running insert.
    pub(crate) async fn insert_run(
        &self,
        conn: &mut AnyConnection,
        id: &str,
        run: &NewRun,
        worker: Option<&Worker>,
    ) -> Result<Option<Lease>> {
        let now = self.clock.now();
        let running = worker.is_some();
        let status = if running { RunStatus::Running } else { RunStatus::Queued };
        let lease = running.then(|| Lease::draw(id));
        sqlx::query(
            "INSERT INTO runs (id, experiment_id, sweep_id, config_hash, config_json, config_toml, varying_json, \
             status, epochs_target, device, threads, created_at, started_at, heartbeat_at, worker_pid, \
             worker_host, git_commit, git_dirty, versions_json, tags, note, rerun_of, lease_token) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
             $21, $22, $23)",
        )
        .bind(id)
        .bind(&run.experiment_id)
        .bind(&run.sweep_id)
        .bind(&run.config_hash)
        .bind(run.config.to_string())
        .bind(&run.config_toml)
        .bind(run.varying.to_string())
        .bind(status.as_str())
        .bind(i64::from(run.epochs_target))
        .bind(worker.and_then(|w| w.device.clone()))
        .bind(worker.and_then(|w| w.threads).map(i64::from))
        .bind(&now)
        .bind(running.then(|| now.clone()))
        .bind(running.then(|| now.clone()))
        .bind(worker.map(|w| i64::from(w.pid)))
        .bind(worker.map(|w| w.host.clone()))
        .bind(&run.git_commit)
        .bind(run.git_dirty)
        .bind(run.versions.to_string())
        .bind(serde_json::Value::from(run.tags.clone()).to_string())
        .bind(&run.note)
        .bind(&run.rerun_of)
        .bind(lease.as_ref().map(|l| l.token.clone()))
        .execute(&mut *conn)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation => {
                StoreError::ActiveAttemptExists { db: self.db.to_string(), config_hash: run.config_hash.clone() }
            }
            _ => self.err_writing(&format!("run of configuration {}", run.config_hash), e),
        })?;
        Ok(lease)
    }

    /// Claims a queued or interrupted attempt for `worker`: its new lease when this caller won it
    /// (status now `running`), `None` when it was not claimable (someone else claimed it first, or
    /// it has ended). One conditional UPDATE, atomic on every engine.
    pub async fn claim(&self, run_id: &str, worker: &Worker) -> Result<Option<Lease>> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.err(e))?;
        self.claim_on(&mut conn, run_id, worker, &[RunStatus::Queued, RunStatus::Interrupted], None).await
    }

    /// Sets an attempt to `running` for `worker` under a fresh lease if its status is one of `from`
    /// (and, with `epochs_target`, asks for that many epochs). Clears the previous end and error.
    /// The new token makes every earlier lease of the attempt stale.
    pub(crate) async fn claim_on(
        &self,
        conn: &mut AnyConnection,
        run_id: &str,
        worker: &Worker,
        from: &[RunStatus],
        epochs_target: Option<u32>,
    ) -> Result<Option<Lease>> {
        let now = self.clock.now();
        let lease = Lease::draw(run_id);
        let from_list: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 10)).collect();
        let sql = format!(
            "UPDATE runs SET status = $9, started_at = COALESCE(started_at, $2), heartbeat_at = $2, \
             ended_at = NULL, error = NULL, worker_pid = $3, worker_host = $4, device = $5, threads = $6, \
             epochs_target = COALESCE($7, epochs_target), lease_token = $8 \
             WHERE id = $1 AND status IN ({})",
            from_list.join(", ")
        );
        let mut query = sqlx::query(&sql)
            .bind(run_id)
            .bind(&now)
            .bind(i64::from(worker.pid))
            .bind(&worker.host)
            .bind(&worker.device)
            .bind(worker.threads.map(i64::from))
            .bind(epochs_target.map(i64::from))
            .bind(&lease.token)
            .bind(RunStatus::Running.as_str());
        for status in from {
            query = query.bind(status.as_str());
        }
        let done = query.execute(&mut *conn).await;
        match done {
            Ok(done) => Ok((done.rows_affected() == 1).then_some(lease)),
            // Another attempt of the same configuration is active: this one is not claimable.
            Err(sqlx::Error::Database(d)) if d.kind() == sqlx::error::ErrorKind::UniqueViolation => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Records which process actually executes a claimed attempt (the scheduler claims, then
    /// spawns the worker, which reports its own pid here). Only with the current lease.
    pub async fn set_worker(&self, lease: &Lease, worker: &Worker) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        self.require_lease(&mut tx, lease).await?;
        sqlx::query(
            "UPDATE runs SET worker_pid = $2, worker_host = $3, device = COALESCE($4, device), \
             threads = COALESCE($5, threads) WHERE id = $1",
        )
        .bind(&lease.run_id)
        .bind(i64::from(worker.pid))
        .bind(&worker.host)
        .bind(&worker.device)
        .bind(worker.threads.map(i64::from))
        .execute(&mut *tx)
        .await
        .map_err(|e| self.err(e))?;
        tx.commit().await.map_err(|e| self.err(e))
    }

    /// Declares interrupted every `running` attempt whose heartbeat is older than `older_than` (its
    /// worker died with a crash or a kill -9 of the scheduler, or is frozen), and returns their
    /// ids, so the next invocation resumes them. Their leases end here: a frozen worker that
    /// wakes up later is refused.
    pub async fn mark_stale_running_as_interrupted(&self, older_than: Duration) -> Result<Vec<String>> {
        let message = format!("no heartbeat for {}s: worker presumed dead", older_than.as_secs());
        sqlx::query_scalar(
            "UPDATE runs SET status = $4, ended_at = $2, error = $3, lease_token = NULL \
             WHERE status = $5 AND (heartbeat_at IS NULL OR heartbeat_at < $1) \
             RETURNING id",
        )
        .bind(self.clock.cutoff(older_than))
        .bind(self.clock.now())
        .bind(message)
        .bind(RunStatus::Interrupted.as_str())
        .bind(RunStatus::Running.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))
    }

    /// Ends the attempt `lease` holds: `finished`, `failed` (with the reason) or `interrupted`,
    /// and ends the lease (`pruned` is refused: only a rung decision prunes). Fails with [`StoreError::LeaseLost`] when the lease is not current (the
    /// run now belongs to someone else, whose status must stand), [`StoreError::RunNotFound`] for
    /// an unknown id, and refuses `queued` and `running`.
    pub async fn finish_run(&self, lease: &Lease, status: RunStatus, error: Option<&str>) -> Result<()> {
        if !status.is_terminal() {
            return Err(self.invalid(format!("finish_run needs an end status, not `{status}`")));
        }
        if status == RunStatus::Pruned {
            return Err(self.invalid("`pruned` is set by a rung decision (decide_rung), not by finish_run"));
        }
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        self.require_lease(&mut tx, lease).await?;
        sqlx::query(
            "UPDATE runs SET status = $2, error = $3, ended_at = $4, lease_token = NULL WHERE id = $1",
        )
        .bind(&lease.run_id)
        .bind(status.as_str())
        .bind(error)
        .bind(self.clock.now())
        .execute(&mut *tx)
        .await
        .map_err(|e| self.err(e))?;
        tx.commit().await.map_err(|e| self.err(e))
    }

    /// Whether `run` is being trained under a live lease: `running`, with a heartbeat newer than
    /// `stale_after` (the rule by which a sweep takes a run over).
    pub fn trains_now(&self, run: &RunDetail, stale_after: Duration) -> bool {
        run.status == RunStatus::Running
            && !lapsed(run.heartbeat_at.as_deref(), &self.clock.cutoff(stale_after))
    }

    /// Removes an attempt with its epochs and pictures. The rows of its files (checkpoints) stay,
    /// so that [`Store::gc_candidates`] lists them and `pixelcnn gc` can delete the files.
    pub async fn delete_run(&self, run_id: &str) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        // Writes first: on SQLite the transaction takes the write lock before reading anything.
        sqlx::query("DELETE FROM artefacts WHERE run_id = $1 AND path IS NULL")
            .bind(run_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        sqlx::query("DELETE FROM epochs WHERE run_id = $1")
            .bind(run_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        let done = sqlx::query("DELETE FROM runs WHERE id = $1")
            .bind(run_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        if done.rows_affected() == 0 {
            return Err(self.run_not_found(run_id));
        }
        tx.commit().await.map_err(|e| self.err(e))
    }
}
