//! `pixelcnn plan`: what an experiment file resolves to, before anything runs.

use std::process::ExitCode;

use std::collections::BTreeMap;

use pixelcnn_config::{Experiment, Override, RunConfig, Strategy, load_experiment};
use pixelcnn_estimate::budget::{self, EpochBudget};
use pixelcnn_estimate::throughput::{self, Recorded, Throughput};
use pixelcnn_record::Promotion;
use pixelcnn_store::{Store, StoreError, resolve_url};
use pixelcnn_train::model_params;

use crate::cli::{ExperimentArgs, PlanArgs};

/// Loads and validates an experiment with its profile and overrides.
pub fn load(args: &ExperimentArgs) -> anyhow::Result<Experiment> {
    let overrides = args.sets.iter().map(|s| Override::parse(s)).collect::<Result<Vec<_>, _>>()?;
    Ok(load_experiment(&args.file, args.profile.as_deref(), &overrides)?)
}

pub fn run(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let exp = load(&args.experiment)?;
    let mut speeds = Speeds::read(&resolve_url(args.db.given()), args.probe);
    print(&exp, &mut speeds)?;
    Ok(ExitCode::SUCCESS)
}

/// How fast each planned run trains here: recorded by the store's finished runs, else probed
/// (when asked), else assumed.
pub struct Speeds {
    recorded: Recorded,
    probe: bool,
    probed: BTreeMap<String, Throughput>,
    cuda: bool,
    /// Why the store's speeds could not be read, when it exists and could not be.
    unreadable: Option<String>,
}

impl Speeds {
    /// The speeds recorded in the database at `db_url` (none when it does not exist: nothing is
    /// created), probing what is missing when `probe`.
    pub fn read(db_url: &str, probe: bool) -> Speeds {
        let cuda = pixelcnn_train::device::cuda_device_count() > 0;
        let recorded = tokio::runtime::Runtime::new().map_err(anyhow::Error::from).and_then(|rt| {
            rt.block_on(async {
                let store = match Store::open_existing(db_url).await {
                    Ok(store) => store,
                    Err(StoreError::NotFound { .. }) => return Ok(Recorded::default()),
                    Err(e) => return Err(e.into()),
                };
                let recorded = Recorded::load(&store).await;
                store.close().await;
                Ok(recorded?)
            })
        });
        let (recorded, unreadable) = match recorded {
            Ok(r) => (r, None),
            Err(e) => (Recorded::default(), Some(format!("{e:#}"))),
        };
        Speeds { recorded, probe, probed: BTreeMap::new(), cuda, unreadable }
    }

    fn of(&mut self, config: &RunConfig) -> anyhow::Result<Throughput> {
        let kind = throughput::device_kind(config, self.cuda);
        if let Some(t) = self.recorded.throughput(config, kind) {
            return Ok(t);
        }
        if !self.probe {
            return Ok(throughput::assumed(config, kind));
        }
        let key = throughput::speed_key(&serde_json::to_value(config)?, kind).to_string();
        if let Some(t) = self.probed.get(&key) {
            return Ok(*t);
        }
        eprintln!("probing the training speed of run configuration {} ...", &key[..key.len().min(80)]);
        let t = throughput::probe(config)?;
        self.probed.insert(key, t);
        Ok(t)
    }
}

/// Prints the resolved runs (only the keys that vary), each model's size, the search's budget and
/// the time estimate with where its speeds come from.
pub fn print(exp: &Experiment, speeds: &mut Speeds) -> anyhow::Result<()> {
    let profile = exp.profile.as_deref().map(|p| format!(", profile {p}")).unwrap_or_default();
    println!("experiment {} ({}{profile}): {} runs", exp.name, exp.file.display(), exp.runs.len());
    if let Some(d) = &exp.description {
        println!("  {d}");
    }
    for note in &exp.notes {
        println!("note: {note}");
    }
    let cuda = speeds.cuda;
    let mut header = vec!["#".to_owned()];
    header.extend(exp.varying_keys.iter().cloned());
    header.extend(["params".into(), "epochs".into(), "images/s".into(), "estimate".into()]);
    let mut rows = vec![header];
    let mut total = 0.0;
    let mut sources: BTreeMap<String, usize> = BTreeMap::new();
    for (i, run) in exp.runs.iter().enumerate() {
        let c = &run.config;
        let speed = speeds.of(c)?;
        let seconds = throughput::run_seconds(c, &speed);
        total += seconds;
        *sources.entry(speed.source.to_string()).or_default() += 1;
        let mut row = vec![(i + 1).to_string()];
        row.extend(exp.varying_keys.iter().map(|k| run.varying.get(k).map_or("-".into(), |v| v.to_string())));
        row.extend([
            model_params(c).to_string(),
            c.train.epochs.to_string(),
            format!("{:.1}", speed.train),
            budget::human(seconds),
        ]);
        rows.push(row);
    }
    print_table(&rows);
    let budget = budget::epoch_budget(exp);
    print_search(exp, &budget);
    let device = if cuda { "one CUDA device" } else { "this machine's CPU (libtorch)" };
    match budget.asha {
        // Runs cost about the same per epoch; scale the every-run-to-the-end estimate.
        Some(b) if b.full > 0 => println!(
            "estimated total: {} expected, {} at most, on {device}, one run at a time",
            budget::human(total * b.expected / b.full as f64),
            budget::human(total)
        ),
        _ => println!("estimated total: {} on {device}, one run at a time", budget::human(total)),
    }
    let sources: Vec<String> = sources.iter().map(|(s, n)| format!("{s} for {n} run(s)")).collect();
    println!("speeds: {}", sources.join("; "));
    if let Some(why) = &speeds.unreadable {
        println!("note: the database's recorded speeds could not be read ({why})");
    }
    if sources.iter().any(|s| s.starts_with("assumed")) {
        println!(
            "note: assumed speeds are the constants docs/benchmarks.md measured on a 2-core CPU; `plan --probe` times a few steps here instead, and finished runs replace them"
        );
    }
    if !cuda && total > 3600.0 && exp.profile.is_none() {
        let hint = if exp.profiles.iter().any(|p| p == "quick") {
            "`--profile quick` shrinks it to minutes".to_owned()
        } else {
            format!("profiles in this file: {}", exp.profiles.join(", "))
        };
        println!("warning: no CUDA device here and this takes over an hour; {hint}");
    }
    Ok(())
}

/// Says how a random, ASHA or SHA search chose its runs and what it trains, in epochs, against the
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
            let rule = match a.promotion {
                Promotion::Asynchronous => {
                    "a run continues only among the best 1/{eta} of those recorded \
                                            there"
                }
                Promotion::Synchronous => {
                    "runs wait until every configuration has reported, then \
                                           exactly the best 1/{eta} continue"
                }
            };
            println!(
                "search: {} over {} runs ({drawn}); at epochs {} {} by {}; survivors train to epoch {}",
                search.strategy.as_str(),
                exp.runs.len(),
                rungs.join(", "),
                rule.replace("{eta}", &a.reduction_factor.to_string()),
                a.metric,
                a.max_epochs
            );
            if b.exact {
                println!("budget: {} epochs exactly (synchronous successive halving); {grid}", b.least);
            } else {
                println!(
                    "budget: {:.0} epochs expected (at least {}, at most {} if no run is stopped; \
                     runs claimed in a seeded random order); {grid}",
                    b.expected, b.least, b.full
                );
            }
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
