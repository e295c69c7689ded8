//! `pixelcnn compare`: runs side by side, the first the baseline, in the terminal and as an HTML page.

use std::path::PathBuf;
use std::process::ExitCode;

use pixelcnn_report::{Comparison, RunData};

use crate::commands::plan::print_table;
use crate::commands::report::now;
use crate::commands::runs::open;

use crate::cli::CompareArgs;

pub fn run(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let (rt, store) = open(args.db.given())?;
    let runs =
        args.runs.iter().map(|id| rt.block_on(RunData::load(&store, id))).collect::<Result<Vec<_>, _>>()?;
    let comparison = Comparison::new(runs)?;
    let mut rows = vec![comparison.header()];
    rows.extend(comparison.rows());
    print_table(&rows);
    println!();
    let mut epochs = vec![comparison.epoch_header()];
    epochs.extend(comparison.epoch_rows());
    print_table(&epochs);
    let out = args.out.clone().unwrap_or_else(|| {
        let ids: Vec<String> =
            comparison.runs().iter().map(|r| r.detail.id.chars().take(8).collect()).collect();
        PathBuf::from("reports").join(format!("compare-{}", ids.join("-")))
    });
    let html = comparison.write_html(&out, &now())?;
    println!("\ncomparison written to {}", html.display());
    Ok(ExitCode::SUCCESS)
}
