//! `pixelcnn report`: an experiment's HTML and Markdown report, from the database alone.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use pixelcnn_config::safe_name;
use pixelcnn_report::{ExperimentData, Report, Written};
use pixelcnn_store::{Store, resolve_url};

use crate::cli::ReportArgs;

/// The experiment an argument names: an experiment file's `[experiment] name`, else the argument.
fn experiment_name(arg: &str) -> anyhow::Result<String> {
    let path = Path::new(arg);
    if path.is_file() {
        let experiment = pixelcnn_config::load_experiment(path, None, &[])?;
        return Ok(experiment.name);
    }
    Ok(arg.to_owned())
}

/// When a report is made, as its header shows it.
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Reads experiment `name` from the database at `db_url` and writes its report into `out`.
pub async fn write(db_url: &str, name: &str, out: &Path) -> anyhow::Result<Written> {
    let store = Store::open_existing(db_url).await?;
    let data = ExperimentData::load(&store, name).await?;
    let written = Report::build(&data, &now())?.write(out)?;
    store.close().await;
    Ok(written)
}

pub fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let name = experiment_name(&args.experiment)?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("reports").join(safe_name(&name)));
    let runtime = tokio::runtime::Runtime::new()?;
    let written = runtime
        .block_on(write(&resolve_url(args.db.given()), &name, &out))
        .with_context(|| format!("writing the report of experiment {name:?}"))?;
    println!("report written to {} and {}", written.html.display(), written.markdown.display());
    Ok(ExitCode::SUCCESS)
}
