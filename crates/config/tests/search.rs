//! `[search]` in experiment files: seeded random trials from lists and ranges, ASHA settings over
//! the grid or over trials, profiles overriding them, and every bad key or value refused with the
//! file and the key.

use std::path::PathBuf;

use pixelcnn_config::{ConfigError, Experiment, Strategy, Trials, load_experiment};
use pixelcnn_record::{Asha, Promotion, RungMetric};

struct File {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn file(text: &str) -> File {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("search.toml");
    std::fs::write(&path, text).unwrap();
    File { _dir: dir, path }
}

const HEAD: &str = "[experiment]\nname = \"s\"\n[train]\nepochs = 9\n";

fn load(text: &str, profile: Option<&str>) -> Experiment {
    let f = file(&format!("{HEAD}{text}"));
    load_experiment(&f.path, profile, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// The error of loading `text`, its message and the file's name.
fn fail(text: &str, profile: Option<&str>) -> (ConfigError, String, String) {
    let f = file(&format!("{HEAD}{text}"));
    match load_experiment(&f.path, profile, &[]) {
        Ok(e) => panic!("expected an error, got {} runs from:\n{text}", e.runs.len()),
        Err(err) => {
            let shown = err.to_string();
            (err, shown, f.path.display().to_string())
        }
    }
}

fn lr(e: &Experiment, i: usize) -> f64 {
    e.runs[i].config.train.lr
}

const RANDOM: &str = "[search]\nstrategy = \"random\"\ntrials = 5\n\
     [sweep]\n\"train.lr\" = { log = [1e-4, 1e-2] }\n\"model.hidden\" = [4, 8, 16]\nseeds = [1, 2]\n";

#[test]
fn random_trials_are_drawn_from_lists_and_ranges_the_same_way_every_time() {
    let e = load(RANDOM, None);
    assert_eq!(e.search.strategy, Strategy::Random);
    assert_eq!(e.search.trials, Some(Trials { count: 5, seed: 0 }));
    assert_eq!(e.search.grid_runs, None, "a continuous range has no grid");
    assert_eq!(e.runs.len(), 10, "five trials, each with both seeds");
    for trial in 0..5 {
        let (a, b) = (&e.runs[2 * trial], &e.runs[2 * trial + 1]);
        assert_eq!((a.config.seed, b.config.seed), (1, 2), "seeds stay the innermost replicate axis");
        assert_eq!((a.config.train.lr, a.config.model.hidden), (b.config.train.lr, b.config.model.hidden));
        assert!((1e-4..=1e-2).contains(&lr(&e, 2 * trial)), "{}", lr(&e, 2 * trial));
        assert!([4, 8, 16].contains(&a.config.model.hidden));
    }
    let lrs: std::collections::BTreeSet<u64> = (0..10).map(|i| lr(&e, i).to_bits()).collect();
    assert_eq!(lrs.len(), 5, "every trial differs");
    assert_eq!(e.varying_keys, ["train.lr", "model.hidden", "seed"]);
    // The same file gives the same trials; the draws are pinned, so a dependency update that
    // changed them would fail here (a search's runs are its configurations' identities).
    assert_eq!(load(RANDOM, None).runs, e.runs);
    let pinned: Vec<(f64, usize)> =
        (0..5).map(|t| (lr(&e, 2 * t), e.runs[2 * t].config.model.hidden)).collect();
    assert_eq!(pinned, PINNED_TRIALS, "{pinned:?}");
    // Another seed, other trials.
    let other = load(&RANDOM.replace("trials = 5", "trials = 5\nseed = 7"), None);
    assert_ne!(other.runs, e.runs);
}

/// The trials of `RANDOM`, as drawn when random search was written.
const PINNED_TRIALS: [(f64, usize); 5] = [
    (0.00261909246338, 8),
    (0.00250199527588, 4),
    (0.00573088159855, 8),
    (0.00454955533965, 16),
    (0.00405100971276, 4),
];

#[test]
fn trials_from_lists_are_distinct_and_integer_ranges_stay_whole() {
    let e = load(
        "[search]\nstrategy = \"random\"\ntrials = 6\n[sweep]\n\"model.levels\" = [2, 4]\n\
         \"model.hidden\" = [4, 8, 16]\n\"model.blocks\" = { linear = [1, 3] }\n",
        None,
    );
    assert_eq!(e.runs.len(), 6);
    assert_eq!(e.search.grid_runs, None);
    let trials: std::collections::BTreeSet<(usize, usize, usize)> = e
        .runs
        .iter()
        .map(|r| (r.config.model.levels.get(), r.config.model.hidden, r.config.model.blocks))
        .collect();
    assert_eq!(trials.len(), 6, "distinct");
    assert!(e.runs.iter().all(|r| (1..=3).contains(&r.config.model.blocks)));
    // Lists only: as many trials as the grid has points is the whole grid, in some order.
    let all = load(
        "[search]\nstrategy = \"random\"\ntrials = 4\n[sweep]\n\"model.levels\" = [2, 4]\n\"model.hidden\" = [4, 8]\n",
        None,
    );
    assert_eq!(all.search.grid_runs, Some(4));
    let mut points: Vec<(usize, usize)> =
        all.runs.iter().map(|r| (r.config.model.levels.get(), r.config.model.hidden)).collect();
    points.sort_unstable();
    assert_eq!(points, [(2, 4), (2, 8), (4, 4), (4, 8)]);
}

#[test]
fn asha_over_the_grid_trains_every_run_up_to_max_epochs() {
    let e = load(
        "[data]\nvalidation_size = 100\n[search]\nstrategy = \"asha\"\nreduction_factor = 2\nmax_epochs = 8\n\
         [sweep]\n\"train.lr\" = [1e-3, 3e-3, 1e-2]\nseeds = [1, 2]\n",
        None,
    );
    assert_eq!(e.search.strategy, Strategy::Asha);
    assert_eq!(
        e.search.asha,
        Some(Asha {
            metric: RungMetric::ValidationNll,
            reduction_factor: 2,
            grace_epochs: 1,
            max_epochs: 8,
            promotion: Promotion::Asynchronous
        })
    );
    assert_eq!((e.runs.len(), e.search.grid_runs, e.search.trials), (6, Some(6), None));
    assert!(e.runs.iter().all(|r| r.config.train.epochs == 8));
    assert_eq!(e.base.train.epochs, 8);
    assert!(
        e.notes.iter().any(|n| n.contains("max_epochs = 8") && n.contains("train.epochs = 9")),
        "{:?}",
        e.notes
    );
    // max_epochs defaults to train.epochs; the test set may be chosen explicitly without a split.
    let e = load(
        "[search]\nstrategy = \"asha\"\nmetric = \"test_nll\"\ngrace_epochs = 2\n[sweep]\n\"train.lr\" = [1e-3, 1e-2]\n",
        None,
    );
    let asha = e.search.asha.unwrap();
    assert_eq!((asha.metric, asha.max_epochs, asha.grace_epochs), (RungMetric::TestNll, 9, 2));
    assert!(e.notes.is_empty(), "{:?}", e.notes);
}

#[test]
fn asha_can_draw_trials_and_profiles_override_the_search_key_by_key() {
    let text = "[data]\nvalidation_size = 100\n[search]\nstrategy = \"asha\"\ntrials = 4\nseed = 3\n\
                [sweep]\n\"train.lr\" = { log = [1e-4, 1e-2] }\n\
                [profile.quick.search]\ntrials = 2\nmax_epochs = 3\n";
    let full = load(text, None);
    assert_eq!((full.runs.len(), full.search.trials), (4, Some(Trials { count: 4, seed: 3 })));
    let quick = load(text, Some("quick"));
    assert_eq!(quick.runs.len(), 2);
    assert_eq!(quick.search.asha.unwrap().max_epochs, 3);
    assert!(quick.runs.iter().all(|r| r.config.train.epochs == 3));
    assert_eq!(lr(&quick, 0), lr(&full, 0), "the same seed draws the same first trials");
    // A profile may change the strategy: a grid file sampled in a profile.
    let text = "[sweep]\n\"model.hidden\" = [4, 8, 16]\n[profile.sample.search]\nstrategy = \"random\"\ntrials = 2\n";
    assert_eq!(load(text, None).runs.len(), 3);
    let sampled = load(text, Some("sample"));
    assert_eq!((sampled.search.strategy, sampled.runs.len()), (Strategy::Random, 2));
    // Keys the file sets must still apply under the profile's strategy.
    let text = "[search]\nstrategy = \"random\"\ntrials = 2\n[sweep]\n\"model.hidden\" = [4, 8, 16]\n\
                [profile.grid.search]\nstrategy = \"grid\"\n";
    let (err, shown, file) = fail(text, None);
    assert!(matches!(&err, ConfigError::InvalidValue { key, .. } if key == "search.trials"), "{err:?}");
    assert!(shown.contains(&file), "{shown}");
}

#[test]
fn bad_search_keys_and_values_name_the_file_and_the_key() {
    let cases: &[(&str, &str, &str)] = &[
        ("[search]\ntrails = 3\n", "search.trails", "search.trials"),
        ("[search]\nstrategy = \"hyperband\"\n", "search.strategy", "grid, random, asha or sha"),
        ("[search]\nstrategy = 3\n", "search.strategy", "string"),
        ("[search]\nstrategy = \"random\"\n", "search.trials", "trials = N"),
        ("[search]\ntrials = 3\n", "search.trials", "random"),
        (
            "[search]\nstrategy = \"random\"\ntrials = 2\nreduction_factor = 2\n",
            "search.reduction_factor",
            "asha",
        ),
        ("[search]\nstrategy = \"grid\"\nmax_epochs = 2\n", "search.max_epochs", "asha"),
        ("[search]\nstrategy = \"random\"\ntrials = 0\n", "search.trials", "outside"),
        (
            "[search]\nstrategy = \"asha\"\nmetric = \"test_nll\"\nreduction_factor = 1\n",
            "search.reduction_factor",
            "outside",
        ),
        (
            "[search]\nstrategy = \"asha\"\nmetric = \"test_nll\"\ngrace_epochs = 0\n",
            "search.grace_epochs",
            "outside",
        ),
        (
            "[search]\nstrategy = \"asha\"\nmetric = \"test_nll\"\ngrace_epochs = 9\n",
            "search.grace_epochs",
            "no rung",
        ),
        (
            "[search]\nstrategy = \"asha\"\nmetric = \"test_nll\"\nmax_epochs = 2.5\n",
            "search.max_epochs",
            "whole number",
        ),
        ("[search]\nstrategy = \"asha\"\nmetric = \"loss\"\n", "search.metric", "validation_nll, test_nll"),
        ("[search]\nstrategy = \"asha\"\nmetric = \"test_nll\"\nseed = 2\n", "search.seed", "trials"),
        ("[search]\nstrategy = \"asha\"\n", "search.metric", "validation_size"),
        (
            "[search]\nstrategy = \"asha\"\nmetric = \"test_nll\"\n[sweep]\n\"train.epochs\" = [2, 4]\n",
            "train.epochs",
            "cannot be swept",
        ),
        (
            "[search]\nstrategy = \"random\"\ntrials = 3\n[sweep]\n\"model.levels\" = [2, 4]\n",
            "search.trials",
            "only 2 distinct",
        ),
        ("[sweep]\n\"train.lr\" = { log = [1e-4, 1e-2] }\n", "train.lr", "needs num"),
        (
            "[search]\nstrategy = \"random\"\ntrials = 2\n[sweep.zip.z]\n\"train.lr\" = { log = [1e-4, 1e-2] }\n\"train.lr_decay\" = [1.0, 0.9]\n",
            "train.lr",
            "zip group",
        ),
        (
            "[search]\nstrategy = \"random\"\ntrials = 2\n[sweep]\nseeds = { linear = [1, 9] }\n",
            "seeds",
            "replicates",
        ),
        (
            "[search]\nstrategy = \"random\"\ntrials = 2\n[sweep]\n\"model.hidden\" = { linear = [4.5, 9] }\n",
            "model.hidden",
            "whole numbers",
        ),
    ];
    for (text, key, words) in cases {
        let (_, shown, file) = fail(text, None);
        assert!(shown.contains(&file), "{text}: {shown} does not name the file");
        assert!(shown.contains(key), "{text}: {shown} does not name {key}");
        assert!(shown.contains(words), "{text}: {shown} does not say {words:?}");
    }
    // Unknown keys get a suggestion; the validation message says how to fix it either way.
    let (err, _, _) = fail("[search]\ntrails = 3\n", None);
    assert!(
        matches!(&err, ConfigError::UnknownKey { suggestion: Some(s), .. } if s == "search.trials"),
        "{err:?}"
    );
    let (_, shown, _) = fail("[search]\nstrategy = \"asha\"\n", None);
    assert!(shown.contains("test_nll") && shown.contains("optimistic"), "{shown}");
    // `[search]` must be a table (written above every header, or it lands in the last table).
    let f = file("search = 3\n[experiment]\nname = \"s\"\n");
    let shown = load_experiment(&f.path, None, &[]).unwrap_err().to_string();
    assert!(
        shown.contains(&f.path.display().to_string())
            && shown.contains("`search`")
            && shown.contains("table"),
        "{shown}"
    );
}

#[test]
fn a_bad_profile_search_fails_the_whole_file_and_names_the_profile() {
    let text =
        "[search]\nstrategy = \"asha\"\nmetric = \"test_nll\"\n[profile.quick.search]\nreduction_factr = 2\n";
    let (err, shown, file) = fail(text, None);
    let ConfigError::UnknownKey { origin, key, .. } = &err else { panic!("{err:?}") };
    assert_eq!(
        (origin.as_str(), key.as_str()),
        (format!("{file} [profile.quick]").as_str(), "search.reduction_factr")
    );
    assert!(shown.contains("search.reduction_factor"), "{shown}");
    // A profile's values are checked against the merged search too.
    let text =
        "[search]\nstrategy = \"asha\"\nmetric = \"test_nll\"\n[profile.quick.search]\nmax_epochs = 1\n";
    let (_, shown, _) = fail(text, None);
    assert!(shown.contains("[profile.quick]") && shown.contains("no rung"), "{shown}");
}
