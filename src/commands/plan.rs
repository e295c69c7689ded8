//! `pixelcnn plan`: what an experiment file resolves to, before anything runs.

use std::process::ExitCode;

use pixelcnn_config::{Experiment, Override, Strategy, load_experiment};
use pixelcnn_sweep::estimate::{self, EpochBudget};
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

/// Prints the resolved runs (only the keys that vary), each model's size, the search's budget and
/// the time estimate.
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
    let budget = estimate::epoch_budget(exp);
    print_search(exp, &budget);
    let device = if cuda { "one CUDA device" } else { "this machine's CPU (libtorch)" };
    match budget.asha {
        // Runs cost about the same per epoch; scale the every-run-to-the-end estimate.
        Some(b) if b.full > 0 => println!(
            "estimated total: {} expected, {} at most, on {device}, one run at a time",
            estimate::human(total * b.expected / b.full as f64),
            estimate::human(total)
        ),
        _ => println!("estimated total: {} on {device}, one run at a time", estimate::human(total)),
    }
    if !cuda && total > 3600.0 && exp.profile.is_none() {
        let hint = if exp.profiles.iter().any(|p| p == "quick") {
            "`--profile quick` shrinks it to minutes".to_owned()
        } else {
            format!("profiles in this file: {}", exp.profiles.join(", "))
        };
        println!("warning: no CUDA device here and this takes over an hour; {hint}");
    }
}

/// Says how a random or ASHA search chose its runs and what it trains, in epochs, against the
/// full grid.
fn print_search(exp: &Experiment, budget: &EpochBudget) {
    let search = &exp.search;
    if search.strategy == Strategy::Grid {
        return;
    }
    let drawn = match search.trials {
        Some(t) => format!("{} trials drawn with seed {}", t.count, t.seed),
        None => "every configuration of the grid".to_owned(),
    };
    let grid = match (budget.grid, search.grid_runs) {
        (Some(epochs), Some(runs)) => format!("the full grid: {epochs} epochs ({runs} runs)"),
        _ => "no full grid to compare with (a range is continuous)".to_owned(),
    };
    match (search.asha, budget.asha) {
        (Some(a), Some(b)) => {
            let rungs: Vec<String> = a.rungs().iter().map(u32::to_string).collect();
            println!(
                "search: asha over {} runs ({drawn}); at epochs {} a run continues only among the best \
                 1/{} of those recorded there by {}; survivors train to epoch {}",
                exp.runs.len(),
                rungs.join(", "),
                a.reduction_factor,
                a.metric,
                a.max_epochs
            );
            println!(
                "budget: {:.0} epochs expected (at least {}, at most {} if no run is stopped); {grid}",
                b.expected, b.least, b.full
            );
            if a.metric.is_optimistic() {
                println!(
                    "note: metric = test_nll: the search selects on the test set, so its test numbers are \
                     optimistic (the report says so)"
                );
            }
        }
        _ => {
            println!("search: {} over {} runs ({drawn})", search.strategy.as_str(), exp.runs.len());
            println!("budget: {} epochs; {grid}", budget.planned);
        }
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
