//! `pixelcnn runs`: a table of runs.

use std::process::ExitCode;

use pixelcnn_store::{Predicate, RunFilter, Store, resolve_url, sort_by_key};

use crate::cli::{RunSelection, RunsArgs, RunsFormat};
use crate::commands::plan::print_table;

/// The store filter of a selection.
pub fn filter(selection: &RunSelection) -> anyhow::Result<RunFilter> {
    let predicates = selection
        .filters
        .iter()
        .map(|w| w.parse::<Predicate>().map_err(|e| anyhow::anyhow!("--where {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let status = selection.status.as_deref().map(str::parse).transpose().map_err(anyhow::Error::msg)?;
    Ok(RunFilter { experiment: selection.experiment.clone(), status, tag: selection.tag.clone(), predicates })
}

/// Opens the existing store named by `--db`, `PIXELCNN_DB` or the default: commands that read
/// results never create a database (a mistyped path is an error naming it).
pub fn open(db: Option<&str>) -> anyhow::Result<(tokio::runtime::Runtime, Store)> {
    let rt = tokio::runtime::Runtime::new()?;
    let store = rt.block_on(Store::open_existing(&resolve_url(db)))?;
    Ok((rt, store))
}

pub fn run(args: &RunsArgs) -> anyhow::Result<ExitCode> {
    let (rt, store) = open(args.db.given())?;
    let mut runs = rt.block_on(store.list_runs(&filter(&args.selection)?))?;
    if let Some(key) = &args.sort {
        sort_by_key(&mut runs, key, args.desc);
    }
    if let Some(k) = args.top {
        runs.truncate(k);
    }
    let format = if args.json { RunsFormat::Json } else { args.format };
    if format == RunsFormat::Json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(ExitCode::SUCCESS);
    }
    let full_ids = format == RunsFormat::Csv;
    // Optional columns only when some run fills them: local users never see an empty Slurm column.
    let slurm = runs.iter().any(|r| r.slurm.is_some());
    let labelled = full_ids || runs.iter().any(|r| !r.run.tags.is_empty() || r.run.note.is_some());
    let mut header =
        ["id", "experiment", "status", "varying", "epoch", "test bits/dim"].map(String::from).to_vec();
    if labelled {
        header.extend(["tags".into(), "note".into()]);
    }
    if slurm {
        header.push("slurm task".into());
    }
    let mut rows = vec![header];
    for r in &runs {
        let varying = r
            .run
            .varying
            .as_object()
            .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        let id = if full_ids { r.id.clone() } else { r.id[..8.min(r.id.len())].to_owned() };
        let mut row = vec![
            id,
            r.experiment.clone(),
            r.status.as_str().to_owned(),
            varying,
            format!("{}/{}", r.last_epoch.unwrap_or(0), r.run.epochs_target),
            r.last_test_bits_per_dim.map_or("-".into(), |b| format!("{b:.4}")),
        ];
        if labelled {
            row.push(r.run.tags.join(","));
            row.push(r.run.note.clone().unwrap_or_default());
        }
        if slurm {
            row.push(r.slurm.as_ref().map_or("-".into(), |t| format!("{t} (job {})", t.job_id)));
        }
        rows.push(row);
    }
    if full_ids {
        let mut out = csv::Writer::from_writer(std::io::stdout());
        for row in &rows {
            out.write_record(row)?;
        }
        out.flush()?;
    } else {
        print_table(&rows);
    }
    Ok(ExitCode::SUCCESS)
}
