-- Verdicts of `pixelcnn rerun`: a rerun (a run whose rerun_of names the original attempt) compared
-- epoch by epoch with its original, timing columns excluded. One row per rerun.
CREATE TABLE rerun_verdicts (
    run_id              TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    original_id         TEXT NOT NULL,
    verdict             TEXT NOT NULL CHECK (verdict IN ('identical', 'within_tolerance', 'differs')),
    epochs_compared     BIGINT NOT NULL CHECK (epochs_compared >= 0),
    -- The first epoch and metric that differ (bitwise when identity was required, else beyond
    -- the tolerance), with both values; NULL when none does.
    first_epoch         BIGINT,
    metric              TEXT,
    original_value      DOUBLE PRECISION,
    rerun_value         DOUBLE PRECISION,
    max_relative_difference DOUBLE PRECISION NOT NULL,
    -- Relative tolerance applied; NULL when bitwise identity was required.
    tolerance           DOUBLE PRECISION,
    environment_changed BOOLEAN NOT NULL,
    environment_note    TEXT NOT NULL DEFAULT '',
    created_at          TEXT NOT NULL
);
CREATE INDEX rerun_verdicts_original ON rerun_verdicts (original_id);
