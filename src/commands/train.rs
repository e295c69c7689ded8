//! `pixelcnn train`: one run from a configuration file, with progress on the terminal and the
//! results in the output folder (resolved config, per-epoch metrics as JSON lines, samples,
//! checkpoints), recorded in the store like a sweep's run unless `--no-store`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use pixelcnn_config::{Override, RunConfig, config_hash, resolve_run};
use pixelcnn_store::{check_tag, display_url, resolve_url};
use pixelcnn_sweep::{SingleRun, train_recorded};
use pixelcnn_train::checkpoint::{self, Checkpoint};
use pixelcnn_train::{Trainer, preflight};

use crate::cli::TrainArgs;
use crate::progress::ConsoleObserver;
use crate::versions::Versions;

pub fn run(args: &TrainArgs) -> anyhow::Result<ExitCode> {
    let out = args.out.as_path();
    for tag in &args.tags {
        check_tag(tag).map_err(|e| anyhow::anyhow!("--tag {tag:?}: {e}"))?;
    }
    let overrides = args.sets.iter().map(|s| Override::parse(s)).collect::<Result<Vec<_>, _>>()?;
    // The device and the data are checked before anything is written into `out`; the data's
    // checksums give the run its identity below.
    let checksums;
    let trainer = match args.resume.as_deref() {
        Some(ckpt) => {
            let header = Checkpoint::read(ckpt)?.header;
            let base = toml::Table::try_from(&header.config).context("checkpoint configuration")?;
            let origin = format!("checkpoint {}", ckpt.display());
            let config = pixelcnn_config::extract(&pixelcnn_config::figment(&[(origin, base)], &overrides))?;
            checksums = preflight::check([&config])?;
            Trainer::resume(ckpt, config, out)?
        }
        None => {
            let existing = checkpoint::list(&out.join("checkpoints"));
            if let Some((_, last)) = existing.last() {
                bail!(
                    "{} already holds the checkpoints of a run; continue it with --resume {} or choose another --out",
                    out.display(),
                    last.display()
                );
            }
            let config = resolve_run(args.config.as_deref(), &overrides)?;
            checksums = preflight::check([&config])?;
            Trainer::new(config, out)?
        }
    };
    write_config(out, trainer.config())?;
    // The same identity a sweep would give this configuration (dedup, reruns, exports).
    let config = trainer.config();
    let hash = config_hash(config, &checksums[&preflight::data_dir(config)]);

    std::fs::write(out.join("config_hash"), format!("{hash}\n"))
        .with_context(|| format!("writing {}", out.join("config_hash").display()))?;
    println!("config_hash {hash}");
    let mut observer = ConsoleObserver::new(out.join("metrics.jsonl"), trainer.config().train.epochs);
    let history = if args.no_store {
        trainer.run(&mut observer)?
    } else if args.resume.is_some() {
        // The store holds epochs of attempts it saw from the start; a resumed folder's earlier
        // epochs are only in its metrics.jsonl.
        eprintln!(
            "note: a resumed `train` is not recorded in the store (its first epochs are not there); `sweep` resumes recorded runs"
        );
        trainer.run(&mut observer)?
    } else {
        let options = SingleRun {
            db: resolve_url(args.db.given()),
            experiment: args.experiment.clone(),
            tags: args.tags.clone(),
            note: args.note.clone(),
            versions: serde_json::to_value(Versions::current())?,
        };
        let data = &checksums[&preflight::data_dir(trainer.config())];
        let (id, outcome) = train_recorded(&options, trainer, &hash, data, &mut observer)?;
        std::fs::write(out.join("run_id"), format!("{id}\n"))
            .with_context(|| format!("writing {}", out.join("run_id").display()))?;
        println!(
            "recorded as run {id} of experiment {:?} in {}",
            options.experiment,
            display_url(&options.db)
        );
        outcome?
    };
    if let Some(last) = history.last() {
        println!(
            "done: test NLL {:.4} nats/pixel, {:.4} bits/dim, {:.1} nats/image after {} epochs; results in {}",
            last.test_nll,
            last.test_bits_per_dim,
            last.test_nats_per_image,
            last.epoch,
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn write_config(out: &Path, config: &RunConfig) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join("config.toml");
    std::fs::write(&path, toml::to_string(config)?).with_context(|| format!("writing {}", path.display()))
}
