-- Run ownership. Every claim of an attempt (a new one, a queued one taken, an interrupted or stale
-- one taken over) draws a fresh lease token; the worker holding it is the only one whose epoch
-- rows, artefacts, heartbeats and end status are accepted (each write checks the token in its own
-- transaction). A worker frozen past the stale limit (SIGSTOP, a suspended laptop, a stuck file
-- system) whose run was taken over therefore cannot write into it when it wakes up.
-- NULL for attempts that are not running (and for rows written before leases existed).
ALTER TABLE runs ADD COLUMN lease_token TEXT;
