//! `pixelcnn sweep`: the plan, then every run that still needs training, each in a worker process.

use std::process::ExitCode;
use std::time::Duration;

use pixelcnn_config::limits;
use pixelcnn_config::safe_name;
use pixelcnn_config::{Experiment, SlurmConfig};
use pixelcnn_record::RunStatus;
use pixelcnn_store::resolve_url;
use pixelcnn_sweep::{SlurmOptions, SweepOptions, run_sweep, submit_sweep};

use crate::cli::{LauncherKind, SweepArgs};
use crate::commands::{outcome, plan, report, worker};
use crate::versions::Versions;

pub fn run(args: &SweepArgs) -> anyhow::Result<ExitCode> {
    let experiment = &args.experiment;
    // Validate everything before the database is touched: an invalid plan writes nothing.
    let heartbeat_every = worker::seconds("--heartbeat-every", args.heartbeat_every)?;
    if heartbeat_every.as_secs_f64() * 3.0 > args.stale_after as f64 {
        anyhow::bail!(
            "--heartbeat-every {}s must be at most a third of --stale-after {}s: a healthy worker would look dead",
            args.heartbeat_every,
            args.stale_after
        );
    }
    let slurm_only = args.slurm.given();
    if args.launcher != LauncherKind::Slurm && !slurm_only.is_empty() {
        anyhow::bail!("{} only apply with --launcher slurm", slurm_only.join(", "));
    }
    let exp = plan::load(experiment)?;
    if args.launcher == LauncherKind::Local {
        let configs: Vec<&pixelcnn_config::RunConfig> = exp.runs.iter().map(|r| &r.config).collect();
        anyhow::ensure!(args.parallel >= 1, "--parallel = 0: at least one worker must train");
        limits::check_parallel(args.parallel, &configs, &limits::Machine::this())
            .map_err(anyhow::Error::msg)?;
    }
    plan::print(&exp, &mut plan::Speeds::read(&resolve_url(args.db.given()), false))?;
    let options = SweepOptions {
        db_url: resolve_url(args.db.given()),
        runs_dir: args.runs_dir.clone(),
        parallel: args.parallel,
        retry_failed: args.retry_failed,
        tags: args.tags.clone(),
        note: args.note.clone(),
        versions: serde_json::to_value(Versions::current())?,
        worker_exe: std::env::current_exe()?,
        stale_after: Duration::from_secs(args.stale_after),
        heartbeat_every,
        overrides: experiment.sets.clone(),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    if args.launcher == LauncherKind::Slurm {
        return submit(&runtime, &exp, &options, args);
    }
    let report = runtime.block_on(run_sweep(&exp, &options))?;
    let count = |s: RunStatus| report.trained.iter().filter(|(_, st)| *st == s).count();
    println!(
        "sweep {}: {} trained ({} finished, {} pruned, {} failed, {} interrupted, {} paused at a rung), {} taken over by another sweep; {}; database {}",
        exp.name,
        report.trained.len(),
        count(RunStatus::Finished),
        count(RunStatus::Pruned),
        count(RunStatus::Failed),
        count(RunStatus::Interrupted),
        count(RunStatus::Paused),
        report.taken_over.len(),
        outcome::already_recorded(&report.skipped),
        pixelcnn_store::display_url(&options.db_url)
    );
    if report.left_queued > 0 {
        println!(
            "{} configuration(s) left queued, not started: the next sweep of this file takes them",
            report.left_queued
        );
    }
    if count(RunStatus::Paused) > 0 && !report.interrupted {
        println!(
            "runs paused at a rung wait for configurations that another sweep is training; that sweep, \
             or this one run again, resumes the ones the rung's decision continues"
        );
    }
    // Also after failures or Ctrl-C: the report shows what was recorded, marked partial.
    let reported = write_report(&runtime, &options.db_url, &exp.name, reports_dir(args));
    // Failed now, or failed before and not retried: either way the sweep's results are incomplete.
    let failed: Vec<&str> = report
        .trained
        .iter()
        .filter(|(_, s)| *s == RunStatus::Failed)
        .map(|(id, _)| id.as_str())
        .chain(outcome::failed_before(&report.skipped))
        .collect();
    let none_failed = outcome::report_failures(&runtime, &options.db_url, &failed);
    let ok = none_failed && !report.interrupted && reported;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Writes the experiment's report under `reports_dir` (nothing when `None`); false when it failed
/// (the error is printed: the sweep's results are in the database either way).
fn write_report(
    runtime: &tokio::runtime::Runtime,
    db_url: &str,
    experiment: &str,
    reports_dir: Option<&std::path::Path>,
) -> bool {
    let Some(dir) = reports_dir else { return true };
    match runtime.block_on(report::write(db_url, experiment, &dir.join(safe_name(experiment)))) {
        Ok(written) => {
            println!("report written to {}", written.html.display());
            true
        }
        Err(e) => {
            eprintln!("error: writing the report of {experiment}: {e:#}");
            false
        }
    }
}

/// Where the report goes at the end (`None` with `--no-report`).
fn reports_dir(args: &SweepArgs) -> Option<&std::path::Path> {
    (!args.no_report).then_some(args.reports_dir.as_path())
}

/// `--launcher slurm`: queue and submit; with `--wait`, follow the runs to the end and write the
/// report like a local sweep.
fn submit(
    runtime: &tokio::runtime::Runtime,
    exp: &Experiment,
    options: &SweepOptions,
    args: &SweepArgs,
) -> anyhow::Result<ExitCode> {
    let a = &args.slurm;
    let from_command_line = SlurmConfig {
        partition: a.partition.clone(),
        time: a.time.clone(),
        gpus_per_task: a.gpus_per_task,
        cpus_per_task: a.cpus_per_task,
        parallelism: a.array_parallelism,
        extra: a.sbatch.clone(),
    };
    let slurm = SlurmOptions {
        slurm: exp.launcher.slurm.overlaid(&from_command_line),
        allow_sqlite: a.allow_sqlite,
        wait: a.wait,
        poll_every: Duration::from_secs(2),
    };
    let done = runtime.block_on(submit_sweep(exp, options, &slurm))?;
    let db = pixelcnn_store::display_url(&options.db_url);
    match &done.script {
        Some(script) => println!(
            "sweep {}: {} run(s) queued, {}; submitted {} task(s) as job array(s) {} ({}); database {db}",
            exp.name,
            done.queued,
            outcome::already_recorded(&done.skipped),
            done.tasks,
            done.job_ids.join(", "),
            script.display()
        ),
        None => println!(
            "sweep {}: {} run(s) queued, {}; nothing submitted ({} task(s) of earlier submissions still pending); database {db}",
            exp.name,
            done.queued,
            outcome::already_recorded(&done.skipped),
            done.pending_before
        ),
    }
    if !a.wait {
        println!("follow it with `pixelcnn runs --experiment {} --db ...`, or submit with --wait", exp.name);
        let failed: Vec<&str> = outcome::failed_before(&done.skipped).collect();
        let ok = outcome::report_failures(runtime, &options.db_url, &failed);
        return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    let count = |s: RunStatus| done.final_statuses.values().filter(|v| **v == s).count();
    let (finished, pruned) = (count(RunStatus::Finished), count(RunStatus::Pruned));
    println!(
        "sweep {}: {finished} finished, {pruned} pruned, {} failed, {} interrupted, {} paused at a rung, {} still queued of {} configurations",
        exp.name,
        count(RunStatus::Failed),
        count(RunStatus::Interrupted),
        count(RunStatus::Paused),
        count(RunStatus::Queued),
        exp.runs.len()
    );
    let reported = write_report(runtime, &options.db_url, &exp.name, reports_dir(args));
    // The latest attempts that failed: in this submission's tasks, or before it and not retried.
    let failed: Vec<&str> = done
        .final_statuses
        .iter()
        .filter(|(_, s)| **s == RunStatus::Failed)
        .map(|(id, _)| id.as_str())
        .collect();
    let none_failed = outcome::report_failures(runtime, &options.db_url, &failed);
    let ok = finished + pruned == exp.runs.len() && reported && none_failed;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
