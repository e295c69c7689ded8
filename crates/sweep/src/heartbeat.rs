//! The worker's heartbeat, on a timer of its own: a full-size test evaluation or naive sampling
//! takes minutes between two training steps, and a heartbeat sent only between steps would make
//! a healthy worker look dead to a second sweep. The timer also learns first when the lease is
//! gone (the run was taken over after this process was frozen): it raises the stop flag, and the
//! worker stops without writing anything more.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use pixelcnn_store::{Lease, Store};

/// Seconds between heartbeats by default; a run whose heartbeat is much older is taken for dead
/// (`--stale-after`, 60 s by default).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// Flags shared by the worker, its heartbeat and its signal handlers.
#[derive(Clone, Debug, Default)]
pub struct Flags {
    /// Stop at the next step (Ctrl-C, SIGTERM, the scheduler gone, or the lease lost).
    pub stop: Arc<AtomicBool>,
    /// The lease is gone: stop, and write nothing more to the run.
    pub lost: Arc<AtomicBool>,
    /// SIGUSR2 arrived (Slurm's warning before the time limit): after stopping, requeue the task.
    pub requeue: Arc<AtomicBool>,
}

impl Flags {
    /// Records that the lease is gone and asks the run to stop.
    pub fn lose(&self) {
        self.lost.store(true, Ordering::SeqCst);
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Whether the lease is gone.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

/// A running heartbeat thread; dropping it stops the thread.
pub struct Heartbeat {
    quit: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    /// Beats every `every` for `lease` on the database at `db` (its own connection and runtime, so
    /// it runs whatever the training thread is doing) until dropped or the lease is lost.
    pub fn start(db: &str, lease: Lease, every: Duration, flags: Flags) -> std::io::Result<Self> {
        let (quit, ticks) = mpsc::channel::<()>();
        let db = db.to_owned();
        let thread = std::thread::Builder::new().name("heartbeat".into()).spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return tracing::error!("heartbeat of run {}: no runtime: {e}", lease.run_id),
            };
            let store = match rt.block_on(Store::open(&db)) {
                Ok(store) => store,
                Err(e) => return tracing::error!("heartbeat of run {}: {e}", lease.run_id),
            };
            // A disconnect (the handle dropped) ends the loop; a timeout is the next beat.
            while let Err(mpsc::RecvTimeoutError::Timeout) = ticks.recv_timeout(every) {
                match rt.block_on(store.heartbeat(&lease)) {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::error!(
                            "run {}: lease lost (the run ended, or another worker took it over after this \
                             worker's heartbeat went stale); stopping without writing anything more",
                            lease.run_id
                        );
                        flags.lose();
                        break;
                    }
                    // A busy database is no reason to stop: the next beat may get through.
                    Err(e) => tracing::warn!("heartbeat of run {}: {e}", lease.run_id),
                }
            }
            rt.block_on(store.close());
        })?;
        Ok(Self { quit: Some(quit), thread: Some(thread) })
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.quit.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
