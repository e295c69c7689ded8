//! `pixelcnn rm`: deletes runs, or a whole experiment, with everything recorded for them: their
//! rows (epochs, pictures, rung decisions, verdicts), their checkpoint files and their run folders.
//! A run that trains under a live lease is refused; a person confirms on a terminal.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use pixelcnn_config::safe_name;
use pixelcnn_store::{RunDetail, RunFilter, Store};

use crate::cli::RmArgs;
use crate::commands::runs::open;

/// What deleting one run removes from the disk besides its rows.
struct Doomed {
    run: RunDetail,
    /// Its live checkpoint files, with their artefact ids.
    files: Vec<(String, PathBuf)>,
    /// Its run folder, when there is one named after the run.
    folder: Option<PathBuf>,
}

pub fn run(args: &RmArgs) -> anyhow::Result<ExitCode> {
    let (rt, store) = open(args.db.given())?;
    let outcome = rt.block_on(remove(&store, args));
    rt.block_on(store.close());
    outcome
}

async fn remove(store: &Store, args: &RmArgs) -> anyhow::Result<ExitCode> {
    let mut runs: Vec<RunDetail> = Vec::new();
    for prefix in &args.runs {
        runs.push(store.run(prefix).await?);
    }
    if let Some(name) = &args.experiment {
        let experiments = store.experiments().await?;
        if !experiments.iter().any(|e| e.name == *name) {
            let known: Vec<&str> = experiments.iter().map(|e| e.name.as_str()).collect();
            bail!("no experiment named {name:?} in the database (recorded: {})", list_or_none(&known));
        }
        runs.extend(
            store.list_runs(&RunFilter { experiment: Some(name.clone()), ..RunFilter::default() }).await?,
        );
    }
    let mut seen = std::collections::HashSet::new();
    runs.retain(|r| seen.insert(r.id.clone()));

    let stale_after = Duration::from_secs(args.stale_after);
    let live: Vec<String> = runs
        .iter()
        .filter(|r| store.trains_now(r, stale_after))
        .map(|r| format!("{} ({})", r.id, r.experiment))
        .collect();
    if !live.is_empty() {
        bail!(
            "refusing to delete run(s) training under a live lease: {}; stop their sweep first (or, if it \
             died, wait until the heartbeat is older than --stale-after {} s)",
            live.join(", "),
            args.stale_after
        );
    }

    let mut doomed = Vec::new();
    for run in runs {
        let files = store
            .artefacts(&run.id)
            .await?
            .into_iter()
            .filter(|a| a.deleted_at.is_none())
            .filter_map(|a| a.path.map(|p| (a.id, PathBuf::from(p))))
            .collect::<Vec<_>>();
        let folder = run_folder(&run, &files, &args.runs_dir);
        doomed.push(Doomed { run, files, folder });
    }
    for d in &doomed {
        let folder = d.folder.as_ref().map_or_else(String::new, |f| format!(", folder {}", f.display()));
        println!(
            "{} run {} ({}, {}): {} epoch(s), {} checkpoint file(s){folder}",
            if args.dry_run { "would delete" } else { "deleting" },
            d.run.id,
            d.run.experiment,
            d.run.status.as_str(),
            d.run.last_epoch.unwrap_or(0),
            d.files.len(),
        );
    }
    if let Some(name) = &args.experiment {
        println!(
            "{} the record of experiment {name:?} (its sweeps and searches)",
            if args.dry_run { "would delete" } else { "deleting" }
        );
    }
    if args.dry_run {
        println!("dry run: nothing deleted");
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes && !confirm(doomed.len())? {
        println!("nothing deleted");
        return Ok(ExitCode::FAILURE);
    }
    for d in &doomed {
        for (artefact, path) in &d.files {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("deleting {}", path.display())),
            }
            store.mark_artefact_deleted(artefact).await?;
        }
        if let Some(folder) = &d.folder {
            std::fs::remove_dir_all(folder).with_context(|| format!("deleting {}", folder.display()))?;
        }
        store.delete_run(&d.run.id).await?;
    }
    if let Some(name) = &args.experiment {
        store.delete_experiment(name).await?;
    }
    println!("deleted {} run(s)", doomed.len());
    Ok(ExitCode::SUCCESS)
}

/// The folder a run trained in, named after its id: where its checkpoints are, else
/// `<runs_dir>/<experiment>/<id>`. A folder not named after the run (`train --out DIR`) is never
/// taken: only its checkpoint files go.
fn run_folder(run: &RunDetail, files: &[(String, PathBuf)], runs_dir: &Path) -> Option<PathBuf> {
    let named_after_run = |dir: &Path| dir.file_name().is_some_and(|n| n == run.id.as_str()) && dir.is_dir();
    let from_checkpoints = files.iter().find_map(|(_, path)| {
        let dir = path.parent()?;
        (dir.file_name()? == "checkpoints").then(|| dir.parent()).flatten().map(Path::to_path_buf)
    });
    from_checkpoints.filter(|d| named_after_run(d)).or_else(|| {
        Some(runs_dir.join(safe_name(&run.experiment)).join(&run.id)).filter(|d| named_after_run(d))
    })
}

/// Asks on the terminal; refuses without asking elsewhere (a script says `--yes`).
fn confirm(count: usize) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing to delete without --yes: stdin is not a terminal to confirm on");
    }
    print!("delete {count} run(s) and their files? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() { "none".into() } else { names.join(", ") }
}
