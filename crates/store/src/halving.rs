//! Rungs of synchronous searches (SHA, `strategy = "sha"`), decided in the store so that they hold
//! with any number of workers, local or on a cluster.
//!
//! A run reaching a rung records its epoch, then arrives ([`Store::arrive_at_rung`]): in one
//! transaction, under the search's lock row, it is `paused` (checkpointed, no worker, no lease),
//! and the rung is decided if every configuration still in the search has now reported there. A
//! configuration still in the search at rung `k` is one of the search's configurations (rung 0)
//! or one that continued past rung `k - 1`; it has reported when its latest attempt is paused
//! there, finished past it, or failed (a failure ranks last: its metric is missing). The decision
//! ranks them all at once ([`rank_all_at_rung`]): exactly the best `max(1, floor(n / eta))`
//! continue (paused ones are queued again and resume from their checkpoint; the arrival that
//! completed the rung trains on at once under its lease), the rest are pruned.
//!
//! The decision is a function of the recorded values alone, not of the order of arrival: a
//! `kill -9` before the transaction commits leaves the run to arrive again when it resumes, and a
//! restarted, concurrent or Slurm-driven search decides the same. A configuration that joins after
//! a rung was decided (a value added to the grid) is ranked there as a late arrival, by the
//! asynchronous rule, against the decided ones. A failure while others wait unblocks the rung
//! through [`Store::decide_waiting_rungs`].

use pixelcnn_record::{RungDecision, RungEntry, rank_all_at_rung};
use sqlx::AnyConnection;

use crate::Store;
use crate::error::Result;
use crate::lease::Lease;
use crate::rungs::RungRecord;
use crate::searches::Search;
use pixelcnn_record::RunStatus;

/// What a run's arrival at a rung of a synchronous search gave.
#[derive(Clone, Debug, PartialEq)]
pub enum Arrival {
    /// The rung is decided and the run continues: it keeps its lease and trains on.
    Continue(RungRecord),
    /// The rung is decided and the run stops there: it is `pruned`, its lease ended.
    Stop(RungRecord),
    /// Other configurations have not reported yet: the run is `paused`, its lease ended; the
    /// decision queues it again or prunes it.
    Paused,
}

impl Store {
    /// The arrival of the run `lease` holds at rung `rung` of the synchronous search `search`,
    /// from its recorded epoch there; see the module documentation. A run that was decided there
    /// before (resumed after the decision, or after a `kill -9`) gets the recorded decision.
    /// Fails with [`crate::StoreError::LeaseLost`] when the lease is not current, and with
    /// [`crate::StoreError::Invalid`] when the search has no such rung or the epoch is not recorded.
    pub async fn arrive_at_rung(&self, lease: &Lease, search: &Search, rung: u32) -> Result<Arrival> {
        let epoch = self.rung_epoch(search, rung)?;
        let now = self.clock.now();
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        self.require_lease(&mut tx, lease).await?;
        self.lock_search(&mut tx, search, &now).await?;
        let arrival = match self.rung_record_on(&mut tx, &lease.run_id, rung).await? {
            Some(recorded) => Self::arrival(recorded),
            None if self.rung_decided_on(&mut tx, search, rung).await? => Self::arrival(
                self.decide_arrival_on(&mut tx, &lease.run_id, search, rung, epoch, &now).await?,
            ),
            None => {
                if self.rung_value_on(&mut tx, &lease.run_id, search.asha.metric, epoch).await?.is_none() {
                    return Err(self.invalid(format!(
                        "run {} has no recorded epoch {epoch}: it arrives at rung {rung} after recording it",
                        lease.run_id
                    )));
                }
                self.set_status_on(&mut tx, &lease.run_id, RunStatus::Paused).await?;
                let decided = self.decide_rung_of_all_on(&mut tx, search, rung, &now).await?;
                match decided.into_iter().find(|r| r.run_id == lease.run_id) {
                    Some(own) if own.ranking.decision == RungDecision::Continue => {
                        // It trains on at once under its lease, rather than wait to be claimed.
                        self.set_status_on(&mut tx, &lease.run_id, RunStatus::Running).await?;
                        Arrival::Continue(own)
                    }
                    Some(own) => Arrival::Stop(own),
                    None => {
                        sqlx::query("UPDATE runs SET lease_token = NULL WHERE id = $1")
                            .bind(&lease.run_id)
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| self.err(e))?;
                        Arrival::Paused
                    }
                }
            }
        };
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(arrival)
    }

    /// Decides every rung of the synchronous search `search` that waits on nothing but
    /// configurations that will not come (their latest attempt failed), in order; returns the
    /// decisions taken. What a sweep calls once no worker of its own is running, and a worker
    /// after its run failed, so that a failure never leaves the others paused for good.
    pub async fn decide_waiting_rungs(&self, search: &Search) -> Result<Vec<RungRecord>> {
        let now = self.clock.now();
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        self.lock_search(&mut tx, search, &now).await?;
        let mut decided = Vec::new();
        for rung in 0..search.asha.rungs().len() as u32 {
            if self.rung_decided_on(&mut tx, search, rung).await? {
                continue;
            }
            let records = self.decide_rung_of_all_on(&mut tx, search, rung, &now).await?;
            if records.is_empty() {
                break;
            }
            decided.extend(records);
        }
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(decided)
    }

    fn arrival(record: RungRecord) -> Arrival {
        match record.ranking.decision {
            RungDecision::Continue => Arrival::Continue(record),
            RungDecision::Stop => Arrival::Stop(record),
        }
    }

    /// Whether any run of `search` was decided at `rung`.
    async fn rung_decided_on(&self, conn: &mut AnyConnection, search: &Search, rung: u32) -> Result<bool> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM rung_decisions WHERE search_id = $1 AND rung = $2")
                .bind(&search.id)
                .bind(i64::from(rung))
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    async fn set_status_on(&self, conn: &mut AnyConnection, run_id: &str, status: RunStatus) -> Result<()> {
        sqlx::query("UPDATE runs SET status = $2 WHERE id = $1")
            .bind(run_id)
            .bind(status.as_str())
            .execute(&mut *conn)
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Decides `rung` for every configuration still in the search, if each has reported there
    /// (else decides nothing and returns no record). Paused runs that continue are queued again,
    /// paused runs that stop are pruned; finished and failed attempts keep their status.
    async fn decide_rung_of_all_on(
        &self,
        conn: &mut AnyConnection,
        search: &Search,
        rung: u32,
        now: &str,
    ) -> Result<Vec<RungRecord>> {
        let epoch = self.rung_epoch(search, rung)?;
        let mut contenders: Vec<String> = sqlx::query_scalar(
            "SELECT config_hash FROM search_configs WHERE search_id = $1 ORDER BY config_hash",
        )
        .bind(&search.id)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| self.err(e))?;
        if rung > 0 {
            let continued: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT config_hash FROM rung_decisions \
                 WHERE search_id = $1 AND rung = $2 AND decision = 'continue'",
            )
            .bind(&search.id)
            .bind(i64::from(rung - 1))
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| self.err(e))?;
            contenders.retain(|hash| continued.contains(hash));
        }
        let mut reported = Vec::with_capacity(contenders.len());
        for hash in &contenders {
            let Some(attempt) = self.latest_attempt_on(conn, hash).await? else { return Ok(Vec::new()) };
            let value = self.rung_value_on(conn, &attempt.run_id, search.asha.metric, epoch).await?;
            let value = match (attempt.status, value) {
                (RunStatus::Paused | RunStatus::Finished | RunStatus::Pruned, Some(v)) => v,
                // It cannot go on, whatever it scored before failing.
                (RunStatus::Failed, _) => None,
                // Queued, running, interrupted, or not there yet: the rung waits for it.
                _ => return Ok(Vec::new()),
            };
            reported.push((attempt, value));
        }
        if reported.is_empty() {
            return Ok(Vec::new());
        }
        let entries: Vec<RungEntry<'_>> = contenders
            .iter()
            .zip(&reported)
            .map(|(h, (_, v))| RungEntry { config_hash: h, value: *v })
            .collect();
        let rankings = rank_all_at_rung(search.asha.reduction_factor, &entries);
        let mut records = Vec::with_capacity(rankings.len());
        for ((hash, (attempt, value)), ranking) in contenders.iter().zip(&reported).zip(rankings) {
            let record = RungRecord {
                run_id: attempt.run_id.clone(),
                search_id: search.id.clone(),
                config_hash: hash.clone(),
                rung,
                epoch,
                metric: search.asha.metric,
                value: *value,
                ranking,
                decided_at: now.to_owned(),
            };
            self.record_decision_on(conn, &record).await?;
            if attempt.status == RunStatus::Paused {
                match ranking.decision {
                    RungDecision::Continue => {
                        self.set_status_on(conn, &attempt.run_id, RunStatus::Queued).await?
                    }
                    RungDecision::Stop => self.prune_on(conn, &attempt.run_id, now).await?,
                }
            }
            records.push(record);
        }
        Ok(records)
    }
}
