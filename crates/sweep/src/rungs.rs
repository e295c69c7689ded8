//! A worker's side of a successive-halving search: at each rung epoch it asks the store whether
//! its run goes on. Under the asynchronous rule the store decides at once against every run
//! recorded at the rung ([`Store::decide_rung`]); under the synchronous one the run arrives
//! ([`Store::arrive_at_rung`]) and waits, paused, unless its arrival completed the rung. Local
//! workers and Slurm tasks both train through `worker::work`, so both ask here.

use pixelcnn_record::{Promotion, RungDecision};
use pixelcnn_store::{Arrival, Lease, RungRecord, Search, Store};

use crate::error::Result;

/// The rungs of a run's search.
pub(crate) struct Rungs {
    search: Search,
}

/// What a rung said to a run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AtRung {
    /// It trains on.
    GoOn,
    /// It stops here: `pruned`, its lease ended.
    Pruned(RungRecord),
    /// It waits here for the other configurations: `paused`, its lease ended.
    Paused,
}

impl Rungs {
    /// The search run `run_id` takes part in, if any (reruns take part in none).
    pub(crate) async fn of(store: &Store, run_id: &str) -> Result<Option<Rungs>> {
        Ok(store.search_of(run_id).await?.map(|search| Rungs { search }))
    }

    /// Whether the search decides its rungs synchronously.
    pub(crate) fn is_synchronous(&self) -> bool {
        self.search.asha.promotion == Promotion::Synchronous
    }

    /// The search.
    pub(crate) fn search(&self) -> &Search {
        &self.search
    }

    /// Asks at `epoch` when it is a rung of the search.
    pub(crate) async fn at_epoch(&self, store: &Store, lease: &Lease, epoch: u32) -> Result<AtRung> {
        match self.search.asha.rung_of(epoch) {
            Some(rung) => self.ask(store, lease, rung).await,
            None => Ok(AtRung::GoOn),
        }
    }

    /// Asks at every rung up to `epoch`, in order, stopping at the first that does not let the
    /// run go on: a run resumed from a checkpoint catches up on a rung it reached before its
    /// worker died, and one resumed after a synchronous rung's decision reads it (decisions are
    /// read back once taken, so a restarted search makes the same decisions).
    pub(crate) async fn catch_up(&self, store: &Store, lease: &Lease, epoch: u32) -> Result<AtRung> {
        let passed = self.search.asha.rungs().into_iter().take_while(|&r| r <= epoch).count() as u32;
        for rung in 0..passed {
            let said = self.ask(store, lease, rung).await?;
            if said != AtRung::GoOn {
                return Ok(said);
            }
        }
        Ok(AtRung::GoOn)
    }

    async fn ask(&self, store: &Store, lease: &Lease, rung: u32) -> Result<AtRung> {
        let record = if self.is_synchronous() {
            match store.arrive_at_rung(lease, &self.search, rung).await? {
                Arrival::Continue(record) | Arrival::Stop(record) => record,
                Arrival::Paused => {
                    tracing::info!(
                        "run {}: rung {rung}: waits, paused, until every configuration has reported there",
                        lease.run_id
                    );
                    return Ok(AtRung::Paused);
                }
            }
        } else {
            store.decide_rung(lease, &self.search, rung).await?
        };
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
        Ok(match r.decision {
            RungDecision::Continue => AtRung::GoOn,
            RungDecision::Stop => AtRung::Pruned(record),
        })
    }
}

/// After a failure in a synchronous search, decides the rungs that waited only on this run, so
/// that the configurations paused there go on (or stop) rather than wait for good.
pub(crate) async fn release_waiting_rungs(store: &Store, run_id: &str) -> Result<()> {
    if let Some(rungs) = Rungs::of(store, run_id).await?.filter(Rungs::is_synchronous) {
        for r in store.decide_waiting_rungs(rungs.search()).await? {
            tracing::info!(
                "run {}: rung {} decided after run {run_id} failed: {}",
                r.run_id,
                r.rung,
                r.ranking.decision
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pixelcnn_record::{Asha, EpochMetrics, Promotion, RungMetric};
    use pixelcnn_store::{NewRun, Worker, url_from_path};

    /// A claimed run of configuration `hash` in `search`, with epochs 1..=`values.len()` recorded
    /// (test NLLs `values`) and no rung decided: what a worker killed before deciding leaves.
    async fn trained_undecided(store: &Store, search: &Search, hash: &str, values: &[f64]) -> Lease {
        let run = NewRun {
            experiment_id: search.experiment_id.clone(),
            sweep_id: None,
            config_hash: hash.into(),
            config: serde_json::json!({"seed": 1}),
            config_toml: String::new(),
            varying: serde_json::json!({}),
            epochs_target: 9,
            git_commit: None,
            git_dirty: None,
            versions: serde_json::json!({}),
            tags: Vec::new(),
            note: None,
            rerun_of: None,
        };
        let id = store.create_run(&run).await.unwrap();
        store.join_search(&search.experiment_id, Some(search), &[hash.to_owned()]).await.unwrap();
        let worker = Worker { pid: 1, host: "test".into(), device: None, threads: None };
        let lease = store.claim(&id, &worker).await.unwrap().unwrap();
        for (i, value) in values.iter().enumerate() {
            let epoch = i as u32 + 1;
            let row = EpochMetrics {
                epoch,
                step: u64::from(epoch),
                train_nll: *value,
                validation_nll: None,
                test_nll: *value,
                test_bits_per_dim: value / std::f64::consts::LN_2,
                test_nats_per_image: value * 784.0,
                lr: 1e-3,
                seconds: 1.0,
                images_per_second: 1.0,
            };
            store.record_epoch(&lease, &row, &[]).await.unwrap();
        }
        lease
    }

    #[tokio::test]
    async fn a_resumed_run_catches_up_on_the_rungs_its_worker_died_before_deciding() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&url_from_path(&dir.path().join("r.db"))).await.unwrap();
        let exp = store.record_experiment("asha", "").await.unwrap();
        // eta = 3: rungs at epochs 1 and 3 before 9.
        let asha = Asha {
            metric: RungMetric::TestNll,
            reduction_factor: 3,
            grace_epochs: 1,
            max_epochs: 9,
            promotion: Promotion::Asynchronous,
        };
        let search = Search { id: "s".into(), experiment_id: exp, asha };
        let rungs = Rungs { search: search.clone() };
        // Two runs decided at rung 0 as they reached it: 0.5 continues, 0.6 stops.
        for (hash, value) in [("a", 0.5), ("b", 0.6)] {
            let lease = trained_undecided(&store, &search, hash, &[value]).await;
            rungs.at_epoch(&store, &lease, 1).await.unwrap();
        }
        // Its worker died after epoch 3 with neither rung decided: the catch-up decides rung 0
        // (0.4, best of three: continues) and then rung 1 (first there: continues).
        let best = trained_undecided(&store, &search, "c", &[0.4, 0.35, 0.3]).await;
        assert_eq!(rungs.catch_up(&store, &best, 3).await.unwrap(), AtRung::GoOn);
        let decided: Vec<(u32, u32)> = store
            .rung_decisions(&best.run_id)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.rung, r.ranking.recorded))
            .collect();
        assert_eq!(decided, [(0, 3), (1, 1)]);
        // Another died after epoch 3 too, but was the worst at rung 0: pruned there, rung 1 never
        // decided, the run pruned.
        let worst = trained_undecided(&store, &search, "d", &[0.9, 0.2, 0.1]).await;
        let AtRung::Pruned(stop) = rungs.catch_up(&store, &worst, 3).await.unwrap() else {
            panic!("pruned at rung 0")
        };
        assert_eq!((stop.rung, stop.ranking.rank, stop.ranking.recorded), (0, 4, 4));
        assert_eq!(store.rung_decisions(&worst.run_id).await.unwrap().len(), 1);
        assert_eq!(store.run(&worst.run_id).await.unwrap().status, pixelcnn_record::RunStatus::Pruned);
        // Catching up again (a second restart) reads the decisions back: nothing new.
        assert_eq!(rungs.catch_up(&store, &best, 3).await.unwrap(), AtRung::GoOn);
        assert_eq!(store.experiment_rung_decisions("asha").await.unwrap().len(), 5);
    }
}
