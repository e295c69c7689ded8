//! Resume and dedup, keyed by `config_hash`: what to do with a configuration given its latest
//! attempt ([`decide`], a pure function), applied atomically under the configuration's lock row
//! when it is queued ([`Store::enqueue_config`]) and when a worker claims it
//! ([`Store::claim_next`]), so that sweeps and tasks on one database never train the same
//! configuration twice.

use serde::Serialize;
use sqlx::AnyConnection;

use crate::Store;
use crate::error::Result;
use crate::lease::lapsed;
use crate::model::Attempt;
use crate::rows::to_u32;
use pixelcnn_record::RunStatus;

/// Why a configuration needs no training now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Its latest attempt finished at least the epochs asked for.
    Finished,
    /// Its latest attempt failed, and failures are not retried (`--retry-failed` is off).
    Failed,
    /// Another worker is training it (its heartbeat is fresh).
    RunningElsewhere,
    /// Its latest attempt was stopped at a rung of an adaptive search: final, whatever the
    /// sweep's flags (`--retry-failed` included).
    Pruned,
    /// Its latest attempt waits at a rung of a synchronous search for the other configurations;
    /// the rung's decision queues it again or prunes it.
    Paused,
}

/// How a claimed attempt starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimKind {
    /// An attempt that was queued (a new one, a retried failure, or one a sweep queued and no
    /// worker started yet).
    Queued,
    /// An interrupted attempt (or one whose worker stopped sending heartbeats): resume it from
    /// its last completed epoch's checkpoint.
    Resume,
    /// A finished attempt with fewer epochs than now asked: train only the new epochs. (Queueing
    /// decides this; the worker then claims it as [`ClaimKind::Resume`], queued with its epochs.)
    Extend,
}

/// What to do with a configuration, given its latest attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Start a new attempt.
    New,
    /// Take over this attempt, continuing after `from_epoch` (0: from scratch).
    Take {
        /// The attempt.
        run_id: String,
        /// Its last completed epoch.
        from_epoch: u32,
        /// Why it is taken over.
        kind: ClaimKind,
    },
    /// Nothing to train.
    Skip {
        /// The attempt that explains why.
        run_id: String,
        /// Why.
        reason: SkipReason,
    },
}

/// Decides what to do with a configuration:
/// - no attempt: new;
/// - queued: take it (a resume when it has epochs: it was queued again after an interruption);
/// - running: skip, unless its heartbeat is older than `stale_cutoff` (same text format as the
///   stored timestamps), then resume it;
/// - interrupted: resume from its last completed epoch;
/// - finished with at least `epochs_wanted` epochs: skip; with fewer: extend;
/// - failed: skip, unless `retry_failed`, then a new attempt (the failed one stays);
/// - pruned: skip, always: a rung decision is final;
/// - paused: skip: it waits for its rung's decision, which queues it again or prunes it.
pub fn decide(
    latest: Option<&Attempt>,
    epochs_wanted: u32,
    retry_failed: bool,
    stale_cutoff: Option<&str>,
) -> Decision {
    let Some(a) = latest else { return Decision::New };
    let take = |kind| Decision::Take { run_id: a.run_id.clone(), from_epoch: a.last_epoch, kind };
    let skip = |reason| Decision::Skip { run_id: a.run_id.clone(), reason };
    match a.status {
        // Queued again after an interruption (a cluster resubmission): it resumes.
        RunStatus::Queued if a.last_epoch > 0 => take(ClaimKind::Resume),
        RunStatus::Queued => take(ClaimKind::Queued),
        RunStatus::Running => {
            let stale = stale_cutoff.is_some_and(|cutoff| lapsed(a.heartbeat_at.as_deref(), cutoff));
            if stale { take(ClaimKind::Resume) } else { skip(SkipReason::RunningElsewhere) }
        }
        RunStatus::Interrupted => take(ClaimKind::Resume),
        RunStatus::Finished if a.last_epoch >= epochs_wanted => skip(SkipReason::Finished),
        RunStatus::Finished => take(ClaimKind::Extend),
        RunStatus::Failed if retry_failed => Decision::New,
        RunStatus::Failed => skip(SkipReason::Failed),
        RunStatus::Pruned => skip(SkipReason::Pruned),
        RunStatus::Paused => skip(SkipReason::Paused),
    }
}

impl Store {
    /// The latest original attempt of a configuration (reruns are not attempts) with its status
    /// and last completed epoch, so a caller can see what [`decide`] would do (for `plan`, say).
    pub async fn latest_attempt(&self, config_hash: &str) -> Result<Option<Attempt>> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.err(e))?;
        self.latest_attempt_on(&mut conn, config_hash).await
    }

    /// [`Store::latest_attempt`] on a given connection (inside a claim's transaction).
    pub(crate) async fn latest_attempt_on(
        &self,
        conn: &mut AnyConnection,
        config_hash: &str,
    ) -> Result<Option<Attempt>> {
        type Row = (String, String, i64, Option<String>, String, Option<i64>);
        // Latest by creation time; an active attempt (at most one) wins ties.
        let row: Option<Row> = sqlx::query_as(
            "SELECT r.id, r.status, r.epochs_target, r.heartbeat_at, r.created_at, \
             (SELECT MAX(e.epoch) FROM epochs e WHERE e.run_id = r.id) AS last_epoch \
             FROM runs r WHERE r.config_hash = $1 AND r.rerun_of IS NULL \
             ORDER BY r.created_at DESC, CASE WHEN r.status IN ($2, $3, $4) THEN 0 ELSE 1 END, r.id DESC \
             LIMIT 1",
        )
        .bind(config_hash)
        .bind(RunStatus::Queued.as_str())
        .bind(RunStatus::Running.as_str())
        .bind(RunStatus::Paused.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| self.err(e))?;
        let Some((run_id, status, epochs_target, heartbeat_at, created_at, last_epoch)) = row else {
            return Ok(None);
        };
        Ok(Some(Attempt {
            status: self.parse_status(&run_id, &status)?,
            epochs_target: to_u32(epochs_target),
            last_epoch: last_epoch.map(to_u32).unwrap_or(0),
            heartbeat_at,
            created_at,
            run_id,
        }))
    }

    /// Takes the lock row of a configuration, first in a transaction. A write first: SQLite takes
    /// the database's write lock here, before reading (a read first would make the later write
    /// fail with "database is locked" instead of waiting); PostgreSQL locks this configuration's
    /// row until commit, so claimers of one configuration queue up while others proceed.
    pub(crate) async fn lock_config(&self, conn: &mut AnyConnection, hash: &str, now: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO config_locks (config_hash, created_at, claimed_at) VALUES ($1, $2, $2) \
             ON CONFLICT (config_hash) DO UPDATE SET claimed_at = excluded.claimed_at",
        )
        .bind(hash)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(status: RunStatus, last_epoch: u32, heartbeat: Option<&str>) -> Attempt {
        Attempt {
            run_id: "r".into(),
            status,
            epochs_target: 3,
            last_epoch,
            heartbeat_at: heartbeat.map(str::to_owned),
            created_at: "2025-01-01T00:00:00.000000Z".into(),
        }
    }

    fn take(from_epoch: u32, kind: ClaimKind) -> Decision {
        Decision::Take { run_id: "r".into(), from_epoch, kind }
    }

    fn skip(reason: SkipReason) -> Decision {
        Decision::Skip { run_id: "r".into(), reason }
    }

    #[test]
    fn every_status_has_its_decision() {
        let cutoff = Some("2025-01-01T00:01:00.000000Z");
        let fresh = Some("2025-01-01T00:02:00.000000Z");
        let old = Some("2025-01-01T00:00:30.000000Z");
        assert_eq!(decide(None, 3, false, None), Decision::New);
        assert_eq!(
            decide(Some(&attempt(RunStatus::Queued, 0, None)), 3, false, None),
            take(0, ClaimKind::Queued)
        );
        assert_eq!(
            decide(Some(&attempt(RunStatus::Running, 1, fresh)), 3, false, cutoff),
            skip(SkipReason::RunningElsewhere)
        );
        assert_eq!(
            decide(Some(&attempt(RunStatus::Running, 1, old)), 3, false, None),
            skip(SkipReason::RunningElsewhere)
        );
        assert_eq!(
            decide(Some(&attempt(RunStatus::Running, 1, old)), 3, false, cutoff),
            take(1, ClaimKind::Resume)
        );
        assert_eq!(
            decide(Some(&attempt(RunStatus::Interrupted, 2, old)), 3, false, None),
            take(2, ClaimKind::Resume)
        );
        assert_eq!(
            decide(Some(&attempt(RunStatus::Finished, 3, old)), 3, false, None),
            skip(SkipReason::Finished)
        );
        assert_eq!(
            decide(Some(&attempt(RunStatus::Finished, 3, old)), 2, false, None),
            skip(SkipReason::Finished)
        );
        assert_eq!(
            decide(Some(&attempt(RunStatus::Finished, 3, old)), 5, false, None),
            take(3, ClaimKind::Extend)
        );
        assert_eq!(
            decide(Some(&attempt(RunStatus::Failed, 1, old)), 3, false, None),
            skip(SkipReason::Failed)
        );
        assert_eq!(decide(Some(&attempt(RunStatus::Failed, 1, old)), 3, true, None), Decision::New);
        for retry_failed in [false, true] {
            assert_eq!(
                decide(Some(&attempt(RunStatus::Pruned, 1, old)), 3, retry_failed, cutoff),
                skip(SkipReason::Pruned),
                "a pruned run is never resumed, retried or extended"
            );
        }
    }
}
