-- Results store of pixelcnn-lab: experiments, sweeps, runs (one row per execution attempt), epoch
-- metrics and artefacts.
--
-- Portable SQL on purpose: the same file must later migrate a shared PostgreSQL database (Slurm job
-- arrays cannot share SQLite over a network file system). Hence only types both engines read the
-- same way (TEXT, BIGINT, DOUBLE PRECISION, BOOLEAN, BYTEA: SQLite accepts any type name and stores
-- BLOBs unchanged in a BYTEA column), no AUTOINCREMENT (ids are UUIDs chosen by the application),
-- and timestamps as ISO-8601 UTC text with a fixed width ('2025-01-31T12:00:00.000000Z'), which
-- sorts and compares chronologically as text on both engines.

CREATE TABLE experiments (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);

-- One row per `pixelcnn sweep` invocation.
CREATE TABLE sweeps (
    id            TEXT PRIMARY KEY,
    experiment_id TEXT NOT NULL REFERENCES experiments (id),
    file          TEXT NOT NULL,
    file_hash     TEXT NOT NULL,
    profile       TEXT,
    overrides     TEXT NOT NULL DEFAULT '[]',
    tag           TEXT,
    note          TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX sweeps_experiment ON sweeps (experiment_id);

-- One row per configuration ever claimed. Claiming a configuration first writes its row here, which
-- serialises concurrent claimers of the same configuration on both engines (SQLite: the first
-- statement of the transaction is a write, so it takes the write lock before reading; PostgreSQL:
-- the upsert locks the row until commit) while claimers of other configurations proceed.
CREATE TABLE config_locks (
    config_hash TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    claimed_at  TEXT NOT NULL
);

-- One row per execution attempt of a configuration. An interrupted attempt is resumed in the same
-- row (its epochs continue); a retried failure gets a new row, so the failed record stays.
CREATE TABLE runs (
    id            TEXT PRIMARY KEY,
    experiment_id TEXT NOT NULL REFERENCES experiments (id),
    sweep_id      TEXT REFERENCES sweeps (id),
    config_hash   TEXT NOT NULL,
    config_json   TEXT NOT NULL,
    config_toml   TEXT NOT NULL,
    varying_json  TEXT NOT NULL DEFAULT '{}',
    status        TEXT NOT NULL
        CHECK (status IN ('queued', 'running', 'finished', 'failed', 'interrupted')),
    epochs_target BIGINT NOT NULL CHECK (epochs_target >= 0),
    device        TEXT,
    threads       BIGINT,
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    ended_at      TEXT,
    heartbeat_at  TEXT,
    worker_pid    BIGINT,
    worker_host   TEXT,
    git_commit    TEXT,
    git_dirty     BOOLEAN,
    versions_json TEXT NOT NULL DEFAULT '{}',
    error         TEXT,
    tags          TEXT NOT NULL DEFAULT '[]',
    note          TEXT,
    -- The attempt this one repeats; no foreign key, so removing the older run stays possible.
    rerun_of      TEXT
);
CREATE INDEX runs_config_hash ON runs (config_hash, created_at);
CREATE INDEX runs_experiment ON runs (experiment_id, created_at);
CREATE INDEX runs_status ON runs (status, heartbeat_at);
-- At most one queued or running attempt per configuration: no configuration is trained twice at
-- once, whatever the caller does.
CREATE UNIQUE INDEX runs_one_active_attempt ON runs (config_hash)
    WHERE status IN ('queued', 'running');

-- One row per run and completed epoch. Metrics are nullable because SQLite cannot store NaN (a
-- diverged value is stored as NULL and read back as NaN).
CREATE TABLE epochs (
    run_id              TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    epoch               BIGINT NOT NULL CHECK (epoch >= 0),
    step                BIGINT NOT NULL CHECK (step >= 0),
    train_nll           DOUBLE PRECISION,
    validation_nll      DOUBLE PRECISION,
    test_nll            DOUBLE PRECISION,
    test_bits_per_dim   DOUBLE PRECISION,
    test_nats_per_image DOUBLE PRECISION,
    lr                  DOUBLE PRECISION,
    seconds             DOUBLE PRECISION,
    images_per_second   DOUBLE PRECISION,
    recorded_at         TEXT NOT NULL,
    PRIMARY KEY (run_id, epoch)
);

-- Pictures (PNG bytes in `data`) and files (checkpoints: `path` + `sha256`). No foreign key on
-- run_id on purpose: the rows of a removed run's files stay until `pixelcnn gc` has deleted the
-- files and set `deleted_at`.
CREATE TABLE artefacts (
    id         TEXT PRIMARY KEY,
    run_id     TEXT NOT NULL,
    epoch      BIGINT NOT NULL CHECK (epoch >= 0),
    kind       TEXT NOT NULL CHECK (kind IN ('samples', 'completion', 'checkpoint')),
    name       TEXT NOT NULL,
    media_type TEXT NOT NULL,
    data       BYTEA,
    path       TEXT,
    sha256     TEXT,
    size_bytes BIGINT,
    created_at TEXT NOT NULL,
    deleted_at TEXT,
    CHECK (data IS NULL OR path IS NULL),
    CHECK (path IS NULL OR sha256 IS NOT NULL)
);
-- Re-recording an epoch after a resume replaces its artefacts instead of adding duplicates.
CREATE UNIQUE INDEX artefacts_one_per_name ON artefacts (run_id, epoch, kind, name);
