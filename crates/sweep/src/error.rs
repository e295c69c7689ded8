//! Errors of a sweep or a worker.

/// Why a sweep or worker could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The store failed (locked, missing, corrupt...).
    #[error(transparent)]
    Store(#[from] pixelcnn_store::StoreError),
    /// The data could not be read.
    #[error(transparent)]
    Data(#[from] pixelcnn_data::DataError),
    /// Training could not start or stopped.
    #[error(transparent)]
    Train(#[from] pixelcnn_train::TrainError),
    /// A stored configuration could not be read back.
    #[error("run {run}: stored configuration unreadable: {message}")]
    StoredConfig {
        /// Run id.
        run: String,
        /// Why.
        message: String,
    },
    /// `rerun` will not run (changed environment, nothing to compare, a device it cannot use).
    #[error("rerun of {run} refused: {message}")]
    RerunRefused {
        /// The run asked for.
        run: String,
        /// Why.
        message: String,
    },
    /// The worker's lease on its run is gone: the run ended, or another worker took it over after
    /// this one's heartbeat went stale (the process was frozen, say). Nothing more was written.
    #[error(
        "run {run}: lease lost: another worker took the run over (or it was ended) after this worker's \
         heartbeat went stale; stopped without writing anything more"
    )]
    LeaseLost {
        /// Run id.
        run: String,
    },
    /// A Slurm command failed or is missing.
    #[error("slurm: `{command}` failed: {message}")]
    Slurm {
        /// The command line.
        command: String,
        /// What went wrong, with Slurm's own words.
        message: String,
    },
    /// The Slurm launcher was given an SQLite database without `--allow-sqlite`.
    #[error(
        "the Slurm launcher needs a database that every task can reach and write at once; {db} is an \
         SQLite file, and SQLite's locking does not work over network file systems (NFS, Lustre, \
         GPFS), so tasks on several nodes would lock or corrupt it. Use --db postgres://USER:PASSWORD@HOST/DB \
         (see README, \"Running on a cluster\"), or pass --allow-sqlite if every task runs on this \
         machine and the file is on a local disk"
    )]
    SqliteOnCluster {
        /// The database.
        db: String,
    },
    /// A file of the sweep (the sbatch script, its list of configurations) could not be written
    /// or read.
    #[error("{}: {source}", path.display())]
    File {
        /// The file or folder.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A worker process ended with an error before it claimed any run: it would fail again.
    #[error(
        "a worker process ended ({how}) before claiming a run; its own error is printed above. The \
         sweep stopped: runs still queued are taken by the next sweep"
    )]
    WorkerFailed {
        /// How it ended.
        how: String,
    },
    /// A worker process could not be started or watched.
    #[error("worker process: {0}")]
    Process(#[from] std::io::Error),
}

/// Result alias of the sweep crate.
pub type Result<T, E = SweepError> = std::result::Result<T, E>;
