//! Run ownership: the lease a claim hands out, and the check every write of a worker makes with it.
//!
//! Each claim of an attempt draws a fresh token (`runs.lease_token`). Heartbeats, epoch rows,
//! artefacts and the end status are accepted only with the current token, checked by the first
//! statement of the writing transaction itself, so a worker that was frozen past the stale limit
//! and whose run another worker took over cannot write into that run when it wakes up: it gets
//! [`StoreError::LeaseLost`] and is expected to stop.

use pixelcnn_record::RunStatus;
use serde::Serialize;
use sqlx::AnyConnection;

use crate::Store;
use crate::error::{Result, StoreError};

/// Whether a running attempt's lease has lapsed: no heartbeat, or one older than `cutoff` (the
/// clock's text for "now minus the stale limit"). The queries that take runs over say the same in
/// SQL (`heartbeat_at IS NULL OR heartbeat_at < $cutoff`).
pub(crate) fn lapsed(heartbeat: Option<&str>, cutoff: &str) -> bool {
    heartbeat.is_none_or(|beat| beat < cutoff)
}

/// The right to write into one running attempt, handed out by a claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lease {
    /// The attempt.
    pub run_id: String,
    /// The token of this claim; a later claim of the same attempt draws another.
    pub token: String,
}

impl Lease {
    /// A lease for a run id and a token received from the claimer (a worker's command line).
    pub fn new(run_id: impl Into<String>, token: impl Into<String>) -> Self {
        Self { run_id: run_id.into(), token: token.into() }
    }

    /// A fresh token for a new claim of `run_id`.
    pub(crate) fn draw(run_id: &str) -> Self {
        Self::new(run_id, uuid::Uuid::new_v4().to_string())
    }
}

impl Store {
    /// Says the holder of `lease` is alive. Returns false when the lease is no longer current (the
    /// run ended, was declared interrupted because its heartbeat went stale, or was taken over by
    /// another worker): its holder must stop and write nothing more.
    pub async fn heartbeat(&self, lease: &Lease) -> Result<bool> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.err(e))?;
        self.touch_lease(&mut conn, lease).await
    }

    /// [`Store::heartbeat`] as a check: fails with [`StoreError::LeaseLost`] when the lease is not
    /// current, before a worker writes files that belong to the run.
    pub async fn renew(&self, lease: &Lease) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.err(e))?;
        self.require_lease(&mut conn, lease).await
    }

    /// Refreshes the heartbeat if `lease` is current; true when it is. As the first statement of
    /// a transaction it also takes SQLite's write lock (PostgreSQL: the run's row lock), so the
    /// writes after it happen under a lease that cannot be taken over before commit.
    pub(crate) async fn touch_lease(&self, conn: &mut AnyConnection, lease: &Lease) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE runs SET heartbeat_at = $3 WHERE id = $1 AND status = $4 AND lease_token = $2",
        )
        .bind(&lease.run_id)
        .bind(&lease.token)
        .bind(self.clock.now())
        .bind(RunStatus::Running.as_str())
        .execute(&mut *conn)
        .await
        .map_err(|e| self.err(e))?;
        Ok(done.rows_affected() == 1)
    }

    /// [`Store::touch_lease`], failing with [`StoreError::LeaseLost`] (or
    /// [`StoreError::RunNotFound`] for an unknown run) when the lease is not current.
    pub(crate) async fn require_lease(&self, conn: &mut AnyConnection, lease: &Lease) -> Result<()> {
        if self.touch_lease(conn, lease).await? {
            return Ok(());
        }
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM runs WHERE id = $1")
            .bind(&lease.run_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| self.err(e))?;
        Err(match exists {
            None => self.run_not_found(&lease.run_id),
            Some(_) => StoreError::LeaseLost { db: self.db.to_string(), run_id: lease.run_id.clone() },
        })
    }
}
