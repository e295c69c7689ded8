//! `pixelcnn export`: a stored run as files that stand alone: the configuration that retrains it
//! (`pixelcnn train --config DIR/config.toml` gives the same config_hash and the same numbers),
//! its metrics as CSV, its pictures and checkpoints, and a manifest of what was recorded.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use pixelcnn_record::ArtefactKind;

use crate::commands::runs::open;

use crate::cli::ExportArgs;

pub fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let (rt, store) = open(args.db.given())?;
    let detail = rt.block_on(store.run(&args.run))?;
    let epochs = rt.block_on(store.epochs(&detail.id))?;
    let artefacts = rt.block_on(store.artefacts(&detail.id))?;
    let verdicts = rt.block_on(store.verdicts(&detail.id))?;
    let write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let path = args.out.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
    };

    let header = format!(
        "# Exported from run {} (experiment {:?}), config_hash {}.\n\
         # `pixelcnn train --config config.toml --out DIR` retrains it: same config_hash, and on the\n\
         # same backend and thread count ({} threads, {}) the same metrics.\n",
        detail.id,
        detail.experiment,
        detail.run.config_hash,
        detail.threads.map_or("?".into(), |t| t.to_string()),
        detail.device.as_deref().unwrap_or("unknown device")
    );
    // The recorded thread count is the one that produced the numbers; pin it.
    let mut config: toml::Table =
        toml::from_str(&detail.run.config_toml).context("stored configuration TOML")?;
    if let Some(threads) = detail.threads {
        config.insert("threads".into(), toml::Value::Integer(i64::from(threads)));
    }
    write("config.toml", format!("{header}{}", toml::to_string(&config)?).as_bytes())?;

    let mut csv = csv::Writer::from_writer(Vec::new());
    for e in &epochs {
        csv.serialize(e)?;
    }
    write("metrics.csv", &csv.into_inner()?)?;

    let mut files = Vec::new();
    for a in artefacts.iter().filter(|a| a.deleted_at.is_none()) {
        let name = match a.kind {
            ArtefactKind::Checkpoint => format!("checkpoints/{}", a.name),
            kind => format!("pictures/{kind}-epoch-{:04}.png", a.epoch),
        };
        let copied = match (&a.path, a.has_data) {
            (_, true) => {
                let data = rt.block_on(store.artefact_data(&a.id))?.unwrap_or_default();
                write(&name, &data)?;
                true
            }
            (Some(path), false) if Path::new(path).is_file() => {
                write(&name, &std::fs::read(path).with_context(|| format!("reading {path}"))?)?;
                true
            }
            _ => false,
        };
        files.push(serde_json::json!({
            "kind": a.kind, "epoch": a.epoch, "file": copied.then_some(&name),
            "recorded_path": a.path, "sha256": a.sha256,
        }));
    }
    let manifest = serde_json::json!({ "run": detail, "artefacts": files, "rerun_verdicts": verdicts });
    write("run.json", serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    println!(
        "run {} exported to {}: config.toml, metrics.csv ({} epochs), {} artefacts, run.json",
        detail.id,
        args.out.display(),
        epochs.len(),
        files.iter().filter(|f| !f["file"].is_null()).count()
    );
    Ok(ExitCode::SUCCESS)
}
