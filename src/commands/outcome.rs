//! What a sweep (local or Slurm) tells its user at the end: how many configurations were already
//! recorded and why (finished, failed, pruned, paused at a rung, running elsewhere: never lumped
//! together), and every
//! failed run with its configuration, its error's first line and how to retry it.

use pixelcnn_store::{SkipReason, Store};

/// The configurations a sweep found recorded, by reason, as one phrase of its summary line.
pub fn already_recorded(skipped: &[(String, SkipReason)]) -> String {
    let count = |r: SkipReason| skipped.iter().filter(|(_, s)| *s == r).count();
    format!(
        "already recorded: {} finished, {} failed (not retried), {} pruned, {} paused at a rung; {} running elsewhere",
        count(SkipReason::Finished),
        count(SkipReason::Failed),
        count(SkipReason::Pruned),
        count(SkipReason::Paused),
        count(SkipReason::RunningElsewhere)
    )
}

/// The runs among `skipped` whose latest attempt failed (and were not retried).
pub fn failed_before(skipped: &[(String, SkipReason)]) -> impl Iterator<Item = &str> {
    skipped.iter().filter(|(_, r)| *r == SkipReason::Failed).map(|(id, _)| id.as_str())
}

/// Prints each failed run (its id, swept values and the first line of its error) and how to train
/// them again. Returns whether there was none; a sweep with failures exits non-zero.
pub fn report_failures(runtime: &tokio::runtime::Runtime, db_url: &str, failed: &[&str]) -> bool {
    if failed.is_empty() {
        return true;
    }
    eprintln!("{} failed run(s):", failed.len());
    let lines = runtime.block_on(async {
        let store = Store::open_existing(db_url).await?;
        let mut lines = Vec::new();
        for id in failed {
            let run = store.run(id).await?;
            let varying = run
                .run
                .varying
                .as_object()
                .filter(|m| !m.is_empty())
                .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "))
                .unwrap_or_else(|| {
                    format!("configuration {}", &run.run.config_hash[..12.min(run.run.config_hash.len())])
                });
            let error = run.error.as_deref().and_then(|e| e.lines().next()).unwrap_or("no error recorded");
            lines.push(format!("  {} [{varying}]: {error}", &run.id[..8.min(run.id.len())]));
        }
        store.close().await;
        anyhow::Ok(lines)
    });
    match lines {
        Ok(lines) => lines.iter().for_each(|l| eprintln!("{l}")),
        Err(e) => eprintln!("  {} (their details could not be read: {e:#})", failed.join(", ")),
    }
    eprintln!(
        "`pixelcnn show ID` gives the whole error; to train them again, run the same sweep with \
         --retry-failed (a new attempt per failed configuration; the failed attempts stay recorded)"
    );
    false
}
