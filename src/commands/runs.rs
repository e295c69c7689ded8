//! `pixelcnn runs`: a table of runs.

use std::process::ExitCode;

use pixelcnn_store::{RunFilter, Store, parse_where, resolve_url};

use crate::cli::{RunSelection, RunsArgs};
use crate::commands::plan::print_table;

/// The store filter of a selection.
pub fn filter(selection: &RunSelection) -> anyhow::Result<RunFilter> {
    let where_eq = selection
        .filters
        .iter()
        .map(|w| parse_where(w).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let status = selection.status.as_deref().map(str::parse).transpose().map_err(anyhow::Error::msg)?;
    Ok(RunFilter { experiment: selection.experiment.clone(), status, where_eq })
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
    let runs = rt.block_on(store.list_runs(&filter(&args.selection)?))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(ExitCode::SUCCESS);
    }
    // The Slurm column only when some run has a task: local users never see an empty column.
    let slurm = runs.iter().any(|r| r.slurm.is_some());
    let mut header =
        ["id", "experiment", "status", "varying", "epoch", "test bits/dim"].map(String::from).to_vec();
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
        let mut row = vec![
            r.id[..8.min(r.id.len())].to_owned(),
            r.experiment.clone(),
            r.status.as_str().to_owned(),
            varying,
            format!("{}/{}", r.last_epoch.unwrap_or(0), r.run.epochs_target),
            r.last_test_bits_per_dim.map_or("-".into(), |b| format!("{b:.4}")),
        ];
        if slurm {
            row.push(r.slurm.as_ref().map_or("-".into(), |t| format!("{t} (job {})", t.job_id)));
        }
        rows.push(row);
    }
    print_table(&rows);
    Ok(ExitCode::SUCCESS)
}
