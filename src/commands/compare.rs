//! `pixelcnn compare`: two runs side by side, in the terminal and as an HTML page.

use std::path::PathBuf;
use std::process::ExitCode;

use pixelcnn_report::{Comparison, RunData};

use crate::commands::plan::print_table;
use crate::commands::report::now;
use crate::commands::runs::open;

use crate::cli::CompareArgs;

pub fn run(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let (rt, store) = open(args.db.given())?;
    let comparison = Comparison {
        a: rt.block_on(RunData::load(&store, &args.run_a))?,
        b: rt.block_on(RunData::load(&store, &args.run_b))?,
    };
    let mut rows = vec![comparison.header()];
    rows.extend(comparison.rows());
    print_table(&rows);
    println!();
    let mut epochs = vec![comparison.epoch_header()];
    epochs.extend(comparison.epoch_rows());
    print_table(&epochs);
    let short = |id: &str| id.chars().take(8).collect::<String>();
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports").join(format!(
            "compare-{}-{}",
            short(&comparison.a.detail.id),
            short(&comparison.b.detail.id)
        ))
    });
    let html = comparison.write_html(&out, &now())?;
    println!("\ncomparison written to {}", html.display());
    Ok(ExitCode::SUCCESS)
}
