//! One module per subcommand.

mod compare;
mod doctor;
mod eval;
mod export;
mod gc;
mod metrics;
mod plan;
mod report;
mod rerun;
mod runs;
mod sample;
mod show;
mod store;
mod sweep;
mod train;
mod worker;

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{Command, StoreCommand};

/// Runs a subcommand; its exit code on success.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Doctor { data } => doctor::run(data.as_deref()),
        Command::Train { config, sets, out, resume } => {
            train::run(config.as_deref(), &sets, &out, resume.as_deref())
        }
        Command::Sample { checkpoint, n, complete, label, seed, sampler, device, data, out } => {
            sample::run(&sample::Args { checkpoint, n, complete, label, seed, sampler, device, data, out })
        }
        Command::Eval { checkpoint, data, device, json } => eval::run(&checkpoint, data, device, json),
        Command::Plan { experiment } => plan::run(&experiment),
        Command::Sweep {
            experiment,
            db,
            runs_dir,
            parallel,
            retry_failed,
            tags,
            note,
            stale_after,
            heartbeat_every,
            reports_dir,
            no_report,
            launcher,
            slurm,
        } => sweep::run(
            &experiment,
            sweep::Args {
                db,
                runs_dir,
                parallel,
                retry_failed,
                tags,
                note,
                stale_after,
                heartbeat_every,
                reports_dir: (!no_report).then_some(reports_dir),
                launcher,
                slurm,
            },
        ),
        Command::Report { experiment, db, out } => report::run(&experiment, db.as_deref(), out),
        Command::Rerun { run, epochs, device, threads, allow_env_change, db, runs_dir } => {
            rerun::run(rerun::Args { run, epochs, device, threads, allow_env_change, db, runs_dir })
        }
        Command::Export { run, out, db } => export::run(&run, &out, db.as_deref()),
        Command::Compare { run_a, run_b, db, out } => compare::run(&run_a, &run_b, db.as_deref(), out),
        Command::Worker {
            db,
            run_id,
            lease,
            heartbeat_every,
            out,
            claim_next,
            configs,
            runs_dir,
            stale_after,
            from_epoch,
            device,
            threads,
        } => {
            let heartbeat_every = worker::seconds("--heartbeat-every", heartbeat_every)?;
            match (claim_next, configs, runs_dir, run_id, lease, out) {
                (true, Some(configs), Some(runs_dir), ..) => worker::task(&pixelcnn_sweep::TaskArgs {
                    db,
                    configs,
                    runs_dir,
                    stale_after: Duration::from_secs(stale_after),
                    heartbeat_every,
                }),
                (false, _, _, Some(run_id), Some(lease), Some(out)) => {
                    worker::run(&pixelcnn_sweep::WorkerArgs {
                        db,
                        run_id,
                        lease,
                        heartbeat_every,
                        out,
                        from_epoch,
                        device,
                        threads,
                        lifeline: true,
                    })
                }
                _ => anyhow::bail!(
                    "worker: give --run-id, --lease and --out, or --claim-next with --configs and --runs-dir"
                ),
            }
        }
        Command::Runs { selection, db, json } => runs::run(&selection, db.as_deref(), json),
        Command::Show { run, db, json } => show::run(&run, db.as_deref(), json),
        Command::Metrics { selection, db, format } => metrics::run(&selection, db.as_deref(), format),
        Command::Gc { db, dry_run } => gc::run(db.as_deref(), dry_run),
        Command::Store { command: StoreCommand::Copy { from, to } } => store::copy(&from, &to),
    }
}
