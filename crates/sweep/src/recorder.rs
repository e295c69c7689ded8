//! What a training run writes into the store while it holds a lease: its worker, each epoch with
//! its pictures and checkpoint records in one transaction, the checkpoints retention deleted, and
//! a lease check before any file of an epoch is written. Shared by sweep workers (`worker.rs`,
//! which add progress events and rungs) and `pixelcnn train` (`single.rs`).

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use pixelcnn_record::EpochMetrics;
use pixelcnn_store::{ArtefactContent, Lease, NewArtefact, Store, StoreError, Worker};
use pixelcnn_train::{Artefact, RunObserver, RunStart};
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;

use crate::heartbeat::Flags;
use crate::worker::host_name;

/// Records one leased run's training into the store.
pub struct StoreRecorder<'a> {
    pub(crate) rt: &'a Runtime,
    pub(crate) store: &'a Store,
    pub(crate) lease: &'a Lease,
    pub(crate) flags: Flags,
}

impl StoreRecorder<'_> {
    /// Maps a store error to the message that stops the run, noting a lost lease.
    pub(crate) fn stopping(&self, e: StoreError) -> String {
        if matches!(e, StoreError::LeaseLost { .. }) {
            self.flags.lose();
        }
        e.to_string()
    }
}

impl RunObserver for StoreRecorder<'_> {
    fn started(&mut self, s: &RunStart) {
        let worker = Worker {
            pid: std::process::id(),
            host: host_name(),
            device: Some(s.device.name.clone()),
            threads: u32::try_from(s.device.threads).ok(),
        };
        if let Err(e) = self.rt.block_on(self.store.set_worker(self.lease, &worker)) {
            let message = self.stopping(e);
            tracing::warn!("recording the worker of run {}: {message}", self.lease.run_id);
        }
    }

    fn epoch(&mut self, m: &EpochMetrics, artefacts: &[Artefact]) -> Result<(), String> {
        let artefacts = artefacts
            .iter()
            .map(new_artefact)
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|e| e.to_string())?;
        self.rt.block_on(self.store.record_epoch(self.lease, m, &artefacts)).map_err(|e| self.stopping(e))
    }

    fn pruned(&mut self, paths: &[PathBuf]) {
        let result = self.rt.block_on(async {
            for a in self.store.artefacts(&self.lease.run_id).await? {
                if a.path.as_deref().is_some_and(|p| paths.iter().any(|q| Path::new(p) == q)) {
                    self.store.mark_artefact_deleted(&a.id).await?;
                }
            }
            Ok::<_, StoreError>(())
        });
        if let Err(e) = result {
            tracing::warn!("recording deleted checkpoints of run {}: {e}", self.lease.run_id);
        }
    }

    fn may_write(&mut self) -> Result<(), String> {
        // Checked against the store now, not only by the timer: a worker woken up after a
        // takeover must not write the files of an epoch its successor owns.
        self.rt.block_on(self.store.renew(self.lease)).map_err(|e| self.stopping(e))
    }

    fn stop_requested(&self) -> bool {
        self.flags.stop.load(Ordering::SeqCst)
    }
}

/// A file the trainer wrote, as the store keeps it: pictures' bytes, checkpoints' path and hash.
fn new_artefact(a: &Artefact) -> std::io::Result<NewArtefact> {
    let bytes = std::fs::read(&a.path)?;
    let name = a.path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let content = if a.kind.is_picture() {
        ArtefactContent::Blob(bytes)
    } else {
        ArtefactContent::File {
            path: a.path.display().to_string(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            size_bytes: Some(bytes.len() as u64),
        }
    };
    Ok(NewArtefact { kind: a.kind, name, media_type: a.kind.media_type().into(), content })
}
