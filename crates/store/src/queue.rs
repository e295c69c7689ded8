//! The queue every sweep trains from, locally or on a cluster. The sweep queues every
//! configuration that needs training ([`Store::enqueue_config`]); each worker process (a local
//! slot or a task of a Slurm job array) then claims whichever configuration is next
//! ([`Store::claim_next`]), so workers and configurations are decoupled: a worker that dies
//! leaves its configuration interrupted (or running with a stale heartbeat), and the next worker,
//! or the next sweep, takes it up from its checkpoint. Both decide under the configuration's lock
//! row, so sweeps, tasks and submissions on one database never train a configuration twice.

use std::time::Duration;

use serde::Serialize;

use crate::Store;
use crate::claim::{ClaimKind, Decision, SkipReason, decide};
use crate::error::Result;
use crate::lease::Lease;
use crate::model::{NewRun, SlurmTask, Worker};
use pixelcnn_record::RunStatus;

/// What [`Store::enqueue_config`] did with a configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Enqueued {
    /// A new attempt, queued.
    New {
        /// The attempt.
        run_id: String,
    },
    /// An interrupted, stale or shorter finished attempt, queued again: it resumes from its last
    /// completed epoch.
    Requeued {
        /// The attempt.
        run_id: String,
        /// Its last completed epoch.
        from_epoch: u32,
    },
    /// Already queued (by an earlier submission whose task has not claimed it yet).
    AlreadyQueued {
        /// The attempt.
        run_id: String,
    },
    /// Nothing to train (finished, failed without retry, or running with a fresh heartbeat).
    Skipped {
        /// The attempt that explains why.
        run_id: String,
        /// Why.
        reason: SkipReason,
    },
}

impl Enqueued {
    /// Whether a task is needed to train it.
    pub fn needs_a_task(&self) -> bool {
        !matches!(self, Enqueued::Skipped { .. })
    }
}

/// A configuration a task of the queue took.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Taken {
    /// The right to write into the attempt.
    pub lease: Lease,
    /// Its last completed epoch: resume from its checkpoint when not 0.
    pub from_epoch: u32,
    /// How it was taken.
    pub kind: ClaimKind,
}

/// An attempt a worker could claim, ordered as [`Store::claim_next`] tries them.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    not_queued: bool,
    position: usize,
    created_at: String,
    id: String,
    hash: String,
}

impl Store {
    /// Makes sure the configuration of `run` is queued if it needs training: a new queued attempt,
    /// or its latest attempt set back to `queued` when it was interrupted, running with a
    /// heartbeat older than `stale_after` (its old worker's lease dies), or finished with fewer
    /// epochs than `run` asks for. The decision is [`decide`]'s, in one transaction under the
    /// configuration's lock row.
    pub async fn enqueue_config(
        &self,
        run: &NewRun,
        retry_failed: bool,
        stale_after: Option<Duration>,
    ) -> Result<Enqueued> {
        let now = self.clock.now();
        let cutoff = stale_after.map(|d| self.clock.cutoff(d));
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        self.lock_config(&mut tx, &run.config_hash, &now).await?;
        let latest = self.latest_attempt_on(&mut tx, &run.config_hash).await?;
        let outcome = match decide(latest.as_ref(), run.epochs_target, retry_failed, cutoff.as_deref()) {
            Decision::New => {
                let run_id = uuid::Uuid::new_v4().to_string();
                self.insert_run(&mut tx, &run_id, run, None).await?;
                Enqueued::New { run_id }
            }
            Decision::Skip { run_id, reason } => Enqueued::Skipped { run_id, reason },
            Decision::Take { run_id, from_epoch, .. } => {
                let status = latest.as_ref().map_or(RunStatus::Queued, |a| a.status);
                // The attempt now asks for the request's epochs and settings (same hash: the same
                // numbers); a stale worker's lease is cleared with its status.
                sqlx::query(
                    "UPDATE runs SET status = $6, lease_token = NULL, config_json = $2, config_toml = $3, \
                     epochs_target = $4 WHERE id = $1 AND status = $5",
                )
                .bind(&run_id)
                .bind(run.config.to_string())
                .bind(&run.config_toml)
                .bind(i64::from(run.epochs_target))
                .bind(status.as_str())
                .bind(RunStatus::Queued.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| self.err(e))?;
                if latest.as_ref().is_some_and(|a| a.status == RunStatus::Queued) {
                    Enqueued::AlreadyQueued { run_id }
                } else {
                    Enqueued::Requeued { run_id, from_epoch }
                }
            }
        };
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(outcome)
    }

    /// Claims the next of `configs` (configuration hashes: what one sweep or submission queued)
    /// that needs a worker, for `worker`: queued attempts first (in the order of `configs`, then
    /// oldest first), then interrupted ones and running ones whose heartbeat is older than
    /// `stale_after`. `None` when nothing is left. Each
    /// candidate is decided again under its lock row, so two tasks asking at once get different
    /// ones. By configuration, not by experiment: a configuration first trained by another
    /// experiment (same hash, so the same numbers) is extended in that experiment's attempt.
    pub async fn claim_next(
        &self,
        configs: &[String],
        worker: &Worker,
        stale_after: Duration,
    ) -> Result<Option<Taken>> {
        let cutoff = self.clock.cutoff(stale_after);
        for Candidate { hash, .. } in self.candidates(configs, &cutoff).await? {
            let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
            self.lock_config(&mut tx, &hash, &self.clock.now()).await?;
            let latest = self.latest_attempt_on(&mut tx, &hash).await?;
            let wanted = latest.as_ref().map_or(0, |a| a.epochs_target);
            let taken = match (decide(latest.as_ref(), wanted, false, Some(&cutoff)), &latest) {
                (Decision::Take { run_id, from_epoch, kind }, Some(a)) => self
                    .claim_on(&mut tx, &run_id, worker, &[a.status], None)
                    .await?
                    .map(|lease| Taken { lease, from_epoch, kind }),
                _ => None,
            };
            tx.commit().await.map_err(|e| self.err(e))?;
            if taken.is_some() {
                return Ok(taken);
            }
        }
        Ok(None)
    }

    /// How many of `configs` a worker could claim now (what [`Store::claim_next`] would try):
    /// a sweep starts workers while this is not zero.
    pub async fn claimable(&self, configs: &[String], stale_after: Duration) -> Result<usize> {
        let cutoff = self.clock.cutoff(stale_after);
        Ok(self.candidates(configs, &cutoff).await?.len())
    }

    /// The attempts of `configs` that need a worker: queued, interrupted, or running with a
    /// heartbeat older than `cutoff`; in claim order (queued first, then in the order of the
    /// list, a search's seeded claim order, then by age).
    async fn candidates(&self, configs: &[String], cutoff: &str) -> Result<Vec<Candidate>> {
        let position: std::collections::HashMap<&str, usize> =
            configs.iter().enumerate().map(|(i, h)| (h.as_str(), i)).collect();
        let mut candidates = Vec::new();
        // A bounded number of placeholders per query, whatever the size of the list.
        for chunk in configs.chunks(500) {
            let list = (0..chunk.len()).map(|i| format!("${}", i + 5)).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "SELECT config_hash, status, created_at, id FROM runs WHERE rerun_of IS NULL AND \
                 config_hash IN ({list}) AND (status IN ($2, $3) OR \
                 (status = $4 AND (heartbeat_at IS NULL OR heartbeat_at < $1)))"
            );
            let mut query = sqlx::query_as::<_, (String, String, String, String)>(&sql)
                .bind(cutoff)
                .bind(RunStatus::Queued.as_str())
                .bind(RunStatus::Interrupted.as_str())
                .bind(RunStatus::Running.as_str());
            for hash in chunk {
                query = query.bind(hash);
            }
            let rows = query.fetch_all(&self.pool).await.map_err(|e| self.err(e))?;
            candidates.extend(rows.into_iter().map(|(hash, status, created_at, id)| Candidate {
                not_queued: status != RunStatus::Queued.as_str(),
                position: position.get(hash.as_str()).copied().unwrap_or(usize::MAX),
                created_at,
                id,
                hash,
            }));
        }
        candidates.sort();
        Ok(candidates)
    }

    /// Records the Slurm task that trains a run (only with the current lease).
    pub async fn set_slurm_task(&self, lease: &Lease, task: &SlurmTask) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        self.require_lease(&mut tx, lease).await?;
        sqlx::query(
            "UPDATE runs SET slurm_job_id = $2, slurm_array_job_id = $3, slurm_array_task_id = $4 WHERE id = $1",
        )
        .bind(&lease.run_id)
        .bind(&task.job_id)
        .bind(&task.array_job_id)
        .bind(task.array_task_id.map(i64::from))
        .execute(&mut *tx)
        .await
        .map_err(|e| self.err(e))?;
        tx.commit().await.map_err(|e| self.err(e))
    }
}
