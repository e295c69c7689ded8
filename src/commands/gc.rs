//! `pixelcnn gc`: deletes checkpoint files that a run's own retention (its configuration's
//! `checkpoint.keep_last` and `checkpoint.keep_best`) does not keep, or whose runs were removed, and
//! records the deletions.

use std::process::ExitCode;

use crate::commands::runs::open;

use crate::cli::GcArgs;

pub fn run(args: &GcArgs) -> anyhow::Result<ExitCode> {
    let dry_run = args.dry_run;
    let (rt, store) = open(args.db.given())?;
    // Each run keeps what its stored configuration asks for; the defaults (last and best) stand in
    // for keys an old run's stored configuration lacks.
    let candidates = rt.block_on(store.gc_candidates())?;
    let mut freed = 0u64;
    for a in &candidates {
        let Some(path) = &a.path else { continue };
        println!("{} {path}", if dry_run { "would delete" } else { "deleting" });
        if dry_run {
            continue;
        }
        match std::fs::remove_file(path) {
            Ok(()) => freed += a.size_bytes.unwrap_or(0),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("{path}: {e}"),
        }
        rt.block_on(store.mark_artefact_deleted(&a.id))?;
    }
    println!(
        "{} file(s), {:.1} MB{}",
        candidates.len(),
        freed as f64 / 1e6,
        if dry_run { " (dry run)" } else { "" }
    );
    Ok(ExitCode::SUCCESS)
}
