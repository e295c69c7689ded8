-- Where a run's current (or last) worker ran under Slurm: the task's own job id (what `scancel`
-- and `scontrol` take) and its place in the job array that launched it. NULL for runs trained by
-- the local launcher. Updated by each worker that claims the run, so a requeued or resubmitted
-- run shows its latest task.
ALTER TABLE runs ADD COLUMN slurm_job_id TEXT;
ALTER TABLE runs ADD COLUMN slurm_array_job_id TEXT;
ALTER TABLE runs ADD COLUMN slurm_array_task_id BIGINT;
