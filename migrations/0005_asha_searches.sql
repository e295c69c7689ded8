-- Adaptive searches (ASHA): a run stopped at a rung has status 'pruned'; each rung decision is
-- recorded with the numbers behind it, once per run and rung, so that a restarted worker reads
-- its decision instead of taking it again.
--
-- Neither engine changes a CHECK constraint in place the same way, so the status column is
-- rebuilt with portable statements (SQLite >= 3.35, PostgreSQL): a new column with the wider
-- check, the values copied, the indexes that name the column dropped and recreated around
-- dropping the old one. No table is dropped, so no foreign key fires and no epoch is touched.
ALTER TABLE runs ADD COLUMN status_new TEXT NOT NULL DEFAULT 'queued'
    CONSTRAINT runs_status_values
    CHECK (status_new IN ('queued', 'running', 'finished', 'failed', 'interrupted', 'pruned'));
UPDATE runs SET status_new = status;
DROP INDEX runs_status;
DROP INDEX runs_one_active_attempt;
ALTER TABLE runs DROP COLUMN status;
ALTER TABLE runs RENAME COLUMN status_new TO status;
CREATE INDEX runs_status ON runs (status, heartbeat_at);
CREATE UNIQUE INDEX runs_one_active_attempt ON runs (config_hash)
    WHERE status IN ('queued', 'running');

-- One row per ASHA search: the runs of one experiment under one base configuration and one set
-- of settings (its id hashes all three, so rerunning the same file finds the same search and a
-- changed file or profile starts another). Runs are compared at a rung only within a search.
-- Every decision first writes `decided_at`, which serialises the deciders of a search on both
-- engines (SQLite: the write lock; PostgreSQL: this row's lock until commit).
CREATE TABLE searches (
    id               TEXT PRIMARY KEY,
    experiment_id    TEXT NOT NULL REFERENCES experiments (id),
    metric           TEXT NOT NULL CHECK (metric IN ('validation_nll', 'test_nll')),
    reduction_factor BIGINT NOT NULL CHECK (reduction_factor >= 2),
    grace_epochs     BIGINT NOT NULL CHECK (grace_epochs >= 1),
    max_epochs       BIGINT NOT NULL CHECK (max_epochs > grace_epochs),
    created_at       TEXT NOT NULL,
    decided_at       TEXT
);
CREATE INDEX searches_experiment ON searches (experiment_id);

-- Which search a configuration of an experiment belongs to now, written by each sweep before it
-- claims or queues anything (a sweep without a search removes its configurations' rows), so a
-- worker finds its rules from the run alone, whichever launcher started it.
CREATE TABLE search_configs (
    experiment_id TEXT NOT NULL REFERENCES experiments (id),
    config_hash   TEXT NOT NULL,
    search_id     TEXT NOT NULL REFERENCES searches (id),
    joined_at     TEXT NOT NULL,
    PRIMARY KEY (experiment_id, config_hash)
);

-- One row per run and rung reached: the metric there, the run's rank among the configurations
-- recorded at the rung when it arrived (itself included: `recorded`), how many of those continue
-- (`quota` = max(1, floor(recorded / eta))) and the decision. Written once; a 'stop' sets the
-- run to 'pruned' in the same transaction.
CREATE TABLE rung_decisions (
    run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    rung         BIGINT NOT NULL CHECK (rung >= 0),
    search_id    TEXT NOT NULL REFERENCES searches (id),
    config_hash  TEXT NOT NULL,
    epoch        BIGINT NOT NULL CHECK (epoch >= 1),
    metric       TEXT NOT NULL,
    metric_value DOUBLE PRECISION,
    arrival_rank BIGINT NOT NULL CHECK (arrival_rank >= 1),
    recorded     BIGINT NOT NULL CHECK (recorded >= 1),
    quota        BIGINT NOT NULL CHECK (quota >= 1),
    decision     TEXT NOT NULL CHECK (decision IN ('continue', 'stop')),
    decided_at   TEXT NOT NULL,
    PRIMARY KEY (run_id, rung)
);
CREATE INDEX rung_decisions_search ON rung_decisions (search_id, rung);
