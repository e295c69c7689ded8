//! Where a run's execution attempt stands: the lifecycle the store keeps, the sweep drives and the
//! report and `pixelcnn runs --status` show.

crate::named_enum! {
    /// Where an execution attempt stands. Stored as its name; the migrations' `CHECK` on
    /// `runs.status` lists exactly [`RunStatus::ALL`] (tested by the store).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum RunStatus ("run status") {
        /// Created, waiting for a device slot; any scheduler on the database may claim it.
        Queued = "queued",
        /// Claimed by a worker that keeps `heartbeat_at` fresh.
        Running = "running",
        /// Waiting, checkpointed and without a worker, at a rung of a synchronous search (SHA) until
        /// every configuration of the search has reported there; the decision queues it again (it
        /// resumes) or prunes it.
        Paused = "paused",
        /// Trained every epoch it was asked for.
        Finished = "finished",
        /// Stopped by an error (including a diverged loss); not re-run unless retried.
        Failed = "failed",
        /// Stopped by Ctrl-C or a dead worker; resumed from its last completed epoch.
        Interrupted = "interrupted",
        /// Stopped at a rung of an adaptive search (ASHA) because better runs were recorded there;
        /// its decision is in `rung_decisions`. Final: never resumed, retried or extended by a sweep.
        Pruned = "pruned",
    }
}

impl RunStatus {
    /// Whether the attempt has ended. The store's `finish_run` accepts these but `pruned`, which
    /// only a rung decision sets.
    pub fn is_terminal(self) -> bool {
        matches!(self, RunStatus::Finished | RunStatus::Failed | RunStatus::Interrupted | RunStatus::Pruned)
    }
}
