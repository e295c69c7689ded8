//! A worker's side of an adaptive search: at each rung epoch it asks the store, which decides in
//! a transaction against every run recorded at that rung ([`Store::decide_rung`]), whether its
//! run goes on. Local workers and Slurm tasks both train through `worker::work`, so both ask here.

use pixelcnn_record::RungDecision;
use pixelcnn_store::{Lease, RungRecord, Search, Store};

use crate::error::Result;

/// The rungs of a run's search.
pub(crate) struct Rungs {
    search: Search,
}

impl Rungs {
    /// The search run `run_id` takes part in, if any (reruns take part in none).
    pub(crate) async fn of(store: &Store, run_id: &str) -> Result<Option<Rungs>> {
        Ok(store.search_of(run_id).await?.map(|search| Rungs { search }))
    }

    /// Decides at `epoch` when it is a rung of the search: the stop decision when the run is
    /// pruned there (it then is `pruned`, its lease ended), `None` when it goes on.
    pub(crate) async fn at_epoch(
        &self,
        store: &Store,
        lease: &Lease,
        epoch: u32,
    ) -> Result<Option<RungRecord>> {
        match self.search.asha.rung_of(epoch) {
            Some(rung) => self.decide(store, lease, rung).await,
            None => Ok(None),
        }
    }

    /// Decides every rung up to `epoch`, in order, stopping at the first stop: a run resumed from
    /// a checkpoint catches up on a rung it reached before its worker died (the decision is read
    /// back when it was taken, so a restarted search makes the same decisions).
    pub(crate) async fn catch_up(
        &self,
        store: &Store,
        lease: &Lease,
        epoch: u32,
    ) -> Result<Option<RungRecord>> {
        let passed = self.search.asha.rungs().into_iter().take_while(|&r| r <= epoch).count() as u32;
        for rung in 0..passed {
            if let Some(stop) = self.decide(store, lease, rung).await? {
                return Ok(Some(stop));
            }
        }
        Ok(None)
    }

    async fn decide(&self, store: &Store, lease: &Lease, rung: u32) -> Result<Option<RungRecord>> {
        let record = store.decide_rung(lease, &self.search, rung).await?;
        let r = &record.ranking;
        let value = record.value.map_or_else(|| "missing".to_owned(), |v| format!("{v:.5}"));
        let verdict = match r.decision {
            RungDecision::Continue => "continues",
            RungDecision::Stop => "is pruned",
        };
        tracing::info!(
            "run {}: rung {} (epoch {}): {} {value} ranks {} of {} recorded, the top {} continue: it {verdict}",
            lease.run_id,
            record.rung,
            record.epoch,
            record.metric,
            r.rank,
            r.recorded,
            r.quota
        );
        Ok((r.decision == RungDecision::Stop).then_some(record))
    }
}
