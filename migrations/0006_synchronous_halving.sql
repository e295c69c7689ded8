-- Synchronous successive halving (`strategy = "sha"`): a run that reached a rung waits there,
-- checkpointed, with status 'paused', until every configuration of its search has reported at
-- the rung; the decision then queues the best 1/eta again (they resume from their checkpoint)
-- and prunes the rest, in one transaction.
--
-- The status column is rebuilt as in 0005 (portable on SQLite >= 3.35 and PostgreSQL): a new
-- column with the wider check, the values copied, the indexes that name it dropped and recreated.
-- A paused run is an active attempt of its configuration: no second attempt may start beside it.
ALTER TABLE runs ADD COLUMN status_new TEXT NOT NULL DEFAULT 'queued'
    CONSTRAINT runs_status_with_paused
    CHECK (status_new IN ('queued', 'running', 'finished', 'failed', 'interrupted', 'pruned', 'paused'));
UPDATE runs SET status_new = status;
DROP INDEX runs_status;
DROP INDEX runs_one_active_attempt;
ALTER TABLE runs DROP COLUMN status;
ALTER TABLE runs RENAME COLUMN status_new TO status;
CREATE INDEX runs_status ON runs (status, heartbeat_at);
CREATE UNIQUE INDEX runs_one_active_attempt ON runs (config_hash)
    WHERE status IN ('queued', 'running', 'paused');

-- How a search's rungs decide: each run as it arrives (ASHA), or all of a rung's runs together
-- once every configuration has reported there (SHA). Searches recorded before were ASHA.
ALTER TABLE searches ADD COLUMN promotion TEXT NOT NULL DEFAULT 'asynchronous'
    CHECK (promotion IN ('asynchronous', 'synchronous'));
