//! `pixelcnn plan`: what an experiment file resolves to, before anything runs.

use std::process::ExitCode;

use pixelcnn_config::{Experiment, Override, load_experiment};
use pixelcnn_sweep::estimate;
use pixelcnn_train::model_params;

use crate::cli::ExperimentArgs;

/// Loads and validates an experiment with its profile and overrides.
pub fn load(args: &ExperimentArgs) -> anyhow::Result<Experiment> {
    let overrides = args.sets.iter().map(|s| Override::parse(s)).collect::<Result<Vec<_>, _>>()?;
    Ok(load_experiment(&args.file, args.profile.as_deref(), &overrides)?)
}

pub fn run(args: &ExperimentArgs) -> anyhow::Result<ExitCode> {
    print(&load(args)?);
    Ok(ExitCode::SUCCESS)
}

/// Prints the resolved runs (only the keys that vary), each model's size and the time estimate.
pub fn print(exp: &Experiment) {
    let profile = exp.profile.as_deref().map(|p| format!(", profile {p}")).unwrap_or_default();
    println!("experiment {} ({}{profile}): {} runs", exp.name, exp.file.display(), exp.runs.len());
    if let Some(d) = &exp.description {
        println!("  {d}");
    }
    for note in &exp.notes {
        println!("note: {note}");
    }
    let cuda = pixelcnn_train::device::cuda_device_count() > 0;
    let mut header = vec!["#".to_owned()];
    header.extend(exp.varying_keys.iter().cloned());
    header.extend(["params".into(), "epochs".into(), "estimate".into()]);
    let mut rows = vec![header];
    let mut total = 0.0;
    for (i, run) in exp.runs.iter().enumerate() {
        let c = &run.config;
        let train = c.data.train_limit.unwrap_or(60_000).min(60_000 - c.data.validation_size);
        let test = c.data.test_limit.unwrap_or(10_000).min(10_000);
        let seconds = estimate::run_seconds(c, train, test, cuda);
        total += seconds;
        let mut row = vec![(i + 1).to_string()];
        row.extend(exp.varying_keys.iter().map(|k| run.varying.get(k).map_or("-".into(), |v| v.to_string())));
        row.extend([model_params(c).to_string(), c.train.epochs.to_string(), estimate::human(seconds)]);
        rows.push(row);
    }
    print_table(&rows);
    let device = if cuda { "one CUDA device" } else { "this machine's CPU (libtorch)" };
    println!("estimated total: {} on {device}, one run at a time", estimate::human(total));
    if !cuda && total > 3600.0 && exp.profile.is_none() {
        let hint = if exp.profiles.iter().any(|p| p == "quick") {
            "`--profile quick` shrinks it to minutes".to_owned()
        } else {
            format!("profiles in this file: {}", exp.profiles.join(", "))
        };
        println!("warning: no CUDA device here and this takes over an hour; {hint}");
    }
}

/// Prints rows as left-aligned columns.
pub fn print_table(rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..rows.first().map_or(0, Vec::len))
        .map(|c| rows.iter().map(|r| r.get(c).map_or(0, |s| s.chars().count())).max().unwrap_or(0))
        .collect();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        println!("{}", cells.join("  ").trim_end());
    }
}
