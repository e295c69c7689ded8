//! The Slurm launcher: `pixelcnn sweep FILE --launcher slurm`. Like a local sweep it queues every
//! configuration that needs training in the store; then, instead of starting worker processes on
//! this machine, it submits one job array with as many tasks as are missing (chunked under the
//! cluster's `MaxArraySize`), each task a worker that claims whatever is next (`claimer.rs`, with
//! the task's own part in `task.rs`). Submitting again queues and submits only what is still
//! missing; `--wait` follows the runs in the store until the tasks are gone.

mod cluster;
mod script;
pub(crate) mod task;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use pixelcnn_config::{Experiment, SlurmConfig, safe_name};
use pixelcnn_record::RunStatus;
use pixelcnn_store::{Engine, SkipReason, Store, engine_of};

use crate::claimer::{read_configs, write_configs};
use crate::error::{Result, SweepError};
use crate::options::SweepOptions;
use crate::register::{enqueue, preflight, register};
use script::Script;

/// How to submit a sweep to Slurm, beyond [`SweepOptions`].
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// The job array's resources: the experiment's `[launcher.slurm]` with the command line's over it.
    pub slurm: SlurmConfig,
    /// Accept an SQLite database (every task on this machine, the file on a local disk).
    pub allow_sqlite: bool,
    /// Follow the runs until every task has ended.
    pub wait: bool,
    /// Time between two looks at the store while waiting.
    pub poll_every: Duration,
}

/// What a submission did.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    /// Configurations queued now or already queued, i.e. needing a task.
    pub queued: usize,
    /// Configurations that needed nothing, with the attempt that explains why (finished, failed
    /// and not retried, pruned, running with a fresh heartbeat).
    pub skipped: Vec<(String, SkipReason)>,
    /// Tasks of earlier submissions still pending, which take queued runs when they start.
    pub pending_before: usize,
    /// The job arrays submitted now (none when nothing was missing).
    pub job_ids: Vec<String>,
    /// Tasks submitted now.
    pub tasks: u32,
    /// The script submitted.
    pub script: Option<PathBuf>,
    /// With `--wait`: the latest attempt's status of every planned configuration at the end, by
    /// the attempt's run id.
    pub final_statuses: BTreeMap<String, RunStatus>,
}

/// Queues the experiment's runs in the shared store and submits the tasks that are missing.
pub async fn submit_sweep(
    experiment: &Experiment,
    options: &SweepOptions,
    slurm: &SlurmOptions,
) -> Result<Submission> {
    // Refused before anything is written: tasks on several nodes cannot share an SQLite file.
    if engine_of(&options.db_url)? == Engine::Sqlite && !slurm.allow_sqlite {
        return Err(SweepError::SqliteOnCluster { db: options.db_url.clone() });
    }
    let max_array = cluster::max_array_size()?;
    let checksums = preflight(experiment.runs.iter().map(|r| r.config.clone()).collect()).await?;
    let store = Store::open(&options.db_url).await?;
    let runs = register(&store, experiment, options, &checksums).await?.runs;
    let hashes: Vec<String> = runs.iter().map(|r| r.config_hash.clone()).collect();
    let queue = enqueue(&store, &runs, options).await?;
    // The tasks claim among the queued and the paused (a rung's decision queues those again).
    let list = queue.claim_list(&runs);
    let queued = queue.queued;
    let mut submission = Submission { queued: queued.len(), skipped: queue.skipped, ..Submission::default() };
    let safe = safe_name(&experiment.name);
    let name = script::job_name(&safe);
    let pending = cluster::pending_tasks(&name)?;
    submission.pending_before = pending.len();
    let mut covered = BTreeSet::new();
    for script in pending.iter().collect::<BTreeSet<_>>() {
        // A list that is gone (its runs folder deleted) covers nothing.
        covered.extend(read_configs(&script.with_extension("configs")).unwrap_or_default());
    }
    let missing = tasks_needed(&queued, pending.len(), &covered) as u32;
    if missing > 0 {
        let file = |path: &Path| {
            let path = path.to_owned();
            move |source| SweepError::File { path, source }
        };
        let runs_dir = std::path::absolute(&options.runs_dir).map_err(file(&options.runs_dir))?;
        let dir = runs_dir.join(&safe).join("slurm");
        std::fs::create_dir_all(&dir).map_err(file(&dir))?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let path = dir.join(format!("submit-{stamp}.sbatch"));
        // The tasks claim among what this submission queued, listed beside the script.
        let configs = path.with_extension("configs");
        write_configs(&configs, &list)?;
        let script = Script {
            experiment: &experiment.name,
            file: &experiment.file,
            exe: &options.worker_exe,
            runs_dir: &runs_dir,
            logs: &dir,
            configs: &configs,
            slurm: &slurm.slurm,
            stale_after: options.stale_after,
            heartbeat_every: options.heartbeat_every,
        };
        std::fs::write(&path, script.render(&name)).map_err(file(&path))?;
        for size in cluster::chunks(missing, max_array) {
            let id = cluster::submit_array(
                &path,
                size,
                slurm.slurm.parallelism,
                &[("PIXELCNN_DB", &options.db_url)],
            )?;
            tracing::info!("submitted job array {id} ({size} task(s)) from {}", path.display());
            submission.job_ids.push(id);
            submission.tasks += size;
        }
        submission.script = Some(path);
    }
    if slurm.wait {
        submission.final_statuses = follow(&store, &hashes, &name, slurm.poll_every).await?;
    }
    store.close().await;
    Ok(submission)
}

/// How many tasks to submit for the `queued` configurations when `pending` tasks of earlier
/// submissions, whose lists together hold `covered`, have not started yet. A pending task claims
/// only within its own submission's list, and each task goes on claiming until its list is
/// exhausted, so every configuration is trained if each one is either covered or has at least
/// one new task; as many tasks as configurations keep the runs parallel.
fn tasks_needed(queued: &[String], pending: usize, covered: &BTreeSet<String>) -> usize {
    let uncovered = queued.iter().filter(|hash| !covered.contains(*hash)).count();
    uncovered.max(queued.len().saturating_sub(pending))
}

/// The latest attempt's status of each configuration, keyed by that attempt's run id.
async fn statuses(store: &Store, hashes: &[String]) -> Result<BTreeMap<String, RunStatus>> {
    let mut out = BTreeMap::new();
    for hash in hashes {
        if let Some(a) = store.latest_attempt(hash).await? {
            out.insert(a.run_id, a.status);
        }
    }
    Ok(out)
}

/// Follows the configurations in the store (a progress bar on a terminal, a log line at each
/// change otherwise) until no task of this experiment is pending or running any more.
async fn follow(
    store: &Store,
    hashes: &[String],
    name: &str,
    every: Duration,
) -> Result<BTreeMap<String, RunStatus>> {
    let bar = crate::progress::count_bar(hashes.len() as u64, "runs ended");
    let mut last = String::new();
    loop {
        let now = statuses(store, hashes).await?;
        let ended = now
            .values()
            .filter(|s| matches!(s, RunStatus::Finished | RunStatus::Failed | RunStatus::Pruned))
            .count();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for s in now.values() {
            *counts.entry(s.as_str()).or_default() += 1;
        }
        let summary = counts.iter().map(|(s, n)| format!("{n} {s}")).collect::<Vec<_>>().join(", ");
        bar.set_position(ended as u64);
        if summary != last {
            bar.set_message(summary.clone());
            if bar.is_hidden() {
                tracing::info!("runs: {summary}");
            }
            last = summary;
        }
        // Earlier submissions' tasks count too: they may be the ones training our runs.
        if cluster::live_tasks(name)? == 0 {
            bar.finish_and_clear();
            return Ok(now);
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(list: &[&str]) -> Vec<String> {
        list.iter().map(|h| (*h).to_owned()).collect()
    }

    #[test]
    fn pending_tasks_count_only_for_the_configurations_they_list() {
        let queued = hashes(&["a", "b", "c"]);
        let none = BTreeSet::new();
        assert_eq!(tasks_needed(&queued, 0, &none), 3);
        // Two pending tasks whose submission listed a and b: c still needs a task of its own.
        let ab: BTreeSet<String> = hashes(&["a", "b"]).into_iter().collect();
        assert_eq!(tasks_needed(&queued, 2, &ab), 1);
        // Five pending tasks that list only a: b and c need two.
        let a: BTreeSet<String> = hashes(&["a"]).into_iter().collect();
        assert_eq!(tasks_needed(&queued, 5, &a), 2);
        // Pending tasks of an unrelated list (another profile) do not count.
        let other: BTreeSet<String> = hashes(&["x", "y", "z"]).into_iter().collect();
        assert_eq!(tasks_needed(&queued, 3, &other), 3);
        // Everything covered by enough pending tasks: nothing to submit.
        let all: BTreeSet<String> = queued.iter().cloned().collect();
        assert_eq!(tasks_needed(&queued, 3, &all), 0);
        assert_eq!(tasks_needed(&queued, 1, &all), 2);
    }
}
