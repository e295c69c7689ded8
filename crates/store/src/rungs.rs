//! Rung decisions of adaptive searches, taken from the store inside one transaction so that they
//! hold with any number of workers, local or on a cluster: the run's lease is checked, the
//! search's lock row is written (deciders of one search queue up there), the run's metric is read
//! from its recorded epoch, ranked by [`rank_at_rung`] against every configuration recorded at
//! the rung before it, and the decision is written; a `stop` also ends the run as `pruned`.
//!
//! A decision is taken once per run and rung. Asking again (a worker restarted after `kill -9`,
//! catching up on the rungs it passed) returns the recorded one, so a restarted search makes the
//! same decisions. What differs between two searches of the same configurations is only the
//! order in which runs reach a rung, which parallel workers do not fix: with one worker, and
//! across restarts, the decisions are the same.

use pixelcnn_record::{RunStatus, RungDecision, RungEntry, RungMetric, RungRanking, rank_at_rung};
use serde::Serialize;
use sqlx::AnyConnection;

use crate::Store;
use crate::error::Result;
use crate::lease::Lease;
use crate::rows::to_u32;
use crate::searches::Search;

/// A recorded rung decision.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RungRecord {
    /// The run decided for.
    pub run_id: String,
    /// Its search.
    pub search_id: String,
    /// Its configuration.
    pub config_hash: String,
    /// The rung, from 0.
    pub rung: u32,
    /// The rung's epoch.
    pub epoch: u32,
    /// The metric compared.
    pub metric: RungMetric,
    /// The run's metric at the rung (`None`: missing or not finite).
    pub value: Option<f64>,
    /// Its rank, the configurations recorded then, the quota and the decision.
    pub ranking: RungRanking,
    /// When it was decided.
    pub decided_at: String,
}

/// A decision row as stored.
type RungRow = (String, String, String, i64, i64, String, Option<f64>, i64, i64, i64, String, String);

/// The columns of [`RungRow`], for a table aliased `d`.
const RUNG_COLUMNS: &str = "d.run_id, d.search_id, d.config_hash, d.rung, d.epoch, d.metric, d.metric_value, \
     d.arrival_rank, d.recorded, d.quota, d.decision, d.decided_at";

impl Store {
    /// Decides whether the run `lease` holds continues past rung `rung` of `search`, from its
    /// recorded epoch at that rung; see the module documentation. Returns the recorded decision
    /// when there is one already. After a `stop` the run is `pruned` and the lease has ended.
    /// Fails with [`crate::StoreError::LeaseLost`] when the lease is not current, and with
    /// [`crate::StoreError::Invalid`] when the search has no such rung or the epoch is not
    /// recorded.
    pub async fn decide_rung(&self, lease: &Lease, search: &Search, rung: u32) -> Result<RungRecord> {
        let epoch = self.rung_epoch(search, rung)?;
        let now = self.clock.now();
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        self.require_lease(&mut tx, lease).await?;
        self.lock_search(&mut tx, search, &now).await?;
        if let Some(recorded) = self.rung_record_on(&mut tx, &lease.run_id, rung).await? {
            tx.commit().await.map_err(|e| self.err(e))?;
            return Ok(recorded);
        }
        let record = self.decide_arrival_on(&mut tx, &lease.run_id, search, rung, epoch, &now).await?;
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(record)
    }

    /// The epoch of rung `rung` of `search`; [`crate::StoreError::Invalid`] when it has none.
    pub(crate) fn rung_epoch(&self, search: &Search, rung: u32) -> Result<u32> {
        search.asha.rung_epoch(rung).ok_or_else(|| {
            self.invalid(format!(
                "search {} has no rung {rung} (rungs at epochs {:?})",
                search.id,
                search.asha.rungs()
            ))
        })
    }

    /// Writes the search's lock row: a write first (SQLite takes its write lock here), then the
    /// row, which queues the deciders of this search on PostgreSQL until the transaction ends.
    pub(crate) async fn lock_search(
        &self,
        conn: &mut AnyConnection,
        search: &Search,
        now: &str,
    ) -> Result<()> {
        let locked = sqlx::query("UPDATE searches SET decided_at = $2 WHERE id = $1")
            .bind(&search.id)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(|e| self.err(e))?;
        if locked.rows_affected() == 0 {
            return Err(self.invalid(format!("no search has id {}", search.id)));
        }
        Ok(())
    }

    /// The run's recorded metric at `epoch`: `None` when the epoch is not recorded, `Some(None)`
    /// when its value is missing or not finite.
    pub(crate) async fn rung_value_on(
        &self,
        conn: &mut AnyConnection,
        run_id: &str,
        metric: RungMetric,
        epoch: u32,
    ) -> Result<Option<Option<f64>>> {
        // The column name is one of our own constants, never user text.
        let value: Option<Option<f64>> = sqlx::query_scalar(&format!(
            "SELECT {} FROM epochs WHERE run_id = $1 AND epoch = $2",
            metric.as_str()
        ))
        .bind(run_id)
        .bind(i64::from(epoch))
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| self.err(e))?;
        Ok(value.map(|v| v.filter(|v| v.is_finite())))
    }

    /// Decides for run `run_id` arriving at `rung` by the asynchronous rule, against every
    /// configuration recorded there before it, and records the decision (a `stop` prunes the run).
    pub(crate) async fn decide_arrival_on(
        &self,
        conn: &mut AnyConnection,
        run_id: &str,
        search: &Search,
        rung: u32,
        epoch: u32,
        now: &str,
    ) -> Result<RungRecord> {
        let metric = search.asha.metric;
        let Some(value) = self.rung_value_on(conn, run_id, metric, epoch).await? else {
            return Err(self.invalid(format!(
                "run {run_id} has no recorded epoch {epoch}: rung {rung} is decided from the recorded epoch"
            )));
        };
        let config_hash: String = sqlx::query_scalar("SELECT config_hash FROM runs WHERE id = $1")
            .bind(run_id)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| self.err(e))?;
        let earlier: Vec<(String, Option<f64>)> = sqlx::query_as(
            "SELECT config_hash, metric_value FROM rung_decisions WHERE search_id = $1 AND rung = $2 \
             ORDER BY decided_at, run_id",
        )
        .bind(&search.id)
        .bind(i64::from(rung))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| self.err(e))?;
        // One entry per configuration: the latest of its attempts.
        let mut latest: Vec<(&str, Option<f64>)> = Vec::new();
        for (hash, v) in &earlier {
            latest.retain(|(h, _)| *h != hash.as_str());
            latest.push((hash, *v));
        }
        let entries: Vec<RungEntry<'_>> =
            latest.iter().map(|(h, v)| RungEntry { config_hash: h, value: *v }).collect();
        let own = RungEntry { config_hash: &config_hash, value };
        let ranking = rank_at_rung(search.asha.reduction_factor, own, &entries);
        let record = RungRecord {
            run_id: run_id.to_owned(),
            search_id: search.id.clone(),
            config_hash,
            rung,
            epoch,
            metric,
            value,
            ranking,
            decided_at: now.to_owned(),
        };
        self.record_decision_on(conn, &record).await?;
        if ranking.decision == RungDecision::Stop {
            self.prune_on(conn, run_id, now).await?;
        }
        Ok(record)
    }

    /// Writes a decision row.
    pub(crate) async fn record_decision_on(&self, conn: &mut AnyConnection, r: &RungRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO rung_decisions (run_id, rung, search_id, config_hash, epoch, metric, metric_value, \
             arrival_rank, recorded, quota, decision, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&r.run_id)
        .bind(i64::from(r.rung))
        .bind(&r.search_id)
        .bind(&r.config_hash)
        .bind(i64::from(r.epoch))
        .bind(r.metric.as_str())
        .bind(r.value)
        .bind(i64::from(r.ranking.rank))
        .bind(i64::from(r.ranking.recorded))
        .bind(i64::from(r.ranking.quota))
        .bind(r.ranking.decision.as_str())
        .bind(&r.decided_at)
        .execute(&mut *conn)
        .await
        .map_err(|e| self.err_writing(&format!("rung {} of run {}", r.rung, r.run_id), e))?;
        Ok(())
    }

    /// Ends a run stopped at a rung: `pruned`, its lease gone.
    pub(crate) async fn prune_on(&self, conn: &mut AnyConnection, run_id: &str, now: &str) -> Result<()> {
        sqlx::query(
            "UPDATE runs SET status = $3, error = NULL, ended_at = $2, lease_token = NULL WHERE id = $1",
        )
        .bind(run_id)
        .bind(now)
        .bind(RunStatus::Pruned.as_str())
        .execute(&mut *conn)
        .await
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The recorded decision of a run at a rung, on a given connection.
    pub(crate) async fn rung_record_on(
        &self,
        conn: &mut AnyConnection,
        run_id: &str,
        rung: u32,
    ) -> Result<Option<RungRecord>> {
        let row: Option<RungRow> = sqlx::query_as(&format!(
            "SELECT {RUNG_COLUMNS} FROM rung_decisions d WHERE d.run_id = $1 AND d.rung = $2"
        ))
        .bind(run_id)
        .bind(i64::from(rung))
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| self.err(e))?;
        row.map(|r| self.rung_record(r)).transpose()
    }

    /// Every rung decision of a run, by rung.
    pub async fn rung_decisions(&self, run_id: &str) -> Result<Vec<RungRecord>> {
        let rows: Vec<RungRow> = sqlx::query_as(&format!(
            "SELECT {RUNG_COLUMNS} FROM rung_decisions d WHERE d.run_id = $1 ORDER BY d.rung"
        ))
        .bind(run_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        rows.into_iter().map(|r| self.rung_record(r)).collect()
    }

    /// Every rung decision of the runs of experiment `name`, in the order they were taken.
    pub async fn experiment_rung_decisions(&self, name: &str) -> Result<Vec<RungRecord>> {
        let rows: Vec<RungRow> = sqlx::query_as(&format!(
            "SELECT {RUNG_COLUMNS} FROM rung_decisions d JOIN runs r ON r.id = d.run_id \
             JOIN experiments e ON e.id = r.experiment_id WHERE e.name = $1 \
             ORDER BY d.decided_at, d.run_id, d.rung"
        ))
        .bind(name)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        rows.into_iter().map(|r| self.rung_record(r)).collect()
    }

    fn rung_record(&self, r: RungRow) -> Result<RungRecord> {
        let (
            run_id,
            search_id,
            config_hash,
            rung,
            epoch,
            metric,
            value,
            rank,
            recorded,
            quota,
            decision,
            decided_at,
        ) = r;
        Ok(RungRecord {
            metric: self.parse_metric("rung_decisions.metric", &run_id, &metric)?,
            ranking: RungRanking {
                rank: to_u32(rank),
                recorded: to_u32(recorded),
                quota: to_u32(quota),
                decision: decision
                    .parse()
                    .map_err(|e: String| self.bad_value("rung_decisions.decision", &run_id, e))?,
            },
            run_id,
            search_id,
            config_hash,
            rung: to_u32(rung),
            epoch: to_u32(epoch),
            value,
            decided_at,
        })
    }
}
