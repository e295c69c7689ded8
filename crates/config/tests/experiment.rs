//! Experiment files: sweep expansion (grid, zip, seeds, ranges, profiles), layering and the files
//! shipped in `experiments/`. The environment layer has its own test binary (`env_layer.rs`)
//! because the environment is shared by every test thread.

use std::path::{Path, PathBuf};

use pixelcnn_config::{AxisKind, Experiment, Override, RunConfig, load_experiment};
use sha2::{Digest, Sha256};
use toml::Value;

struct File {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn file(text: &str) -> File {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exp.toml");
    std::fs::write(&path, text).unwrap();
    File { _dir: dir, path }
}

fn sets(items: &[&str]) -> Vec<Override> {
    items.iter().map(|s| Override::parse(s).unwrap()).collect()
}

fn load(text: &str, profile: Option<&str>, overrides: &[&str]) -> Experiment {
    let f = file(text);
    load_experiment(&f.path, profile, &sets(overrides)).unwrap_or_else(|e| panic!("{e}"))
}

fn int(n: i64) -> Value {
    Value::Integer(n)
}

/// (levels, blocks, seed) of every run, in order.
fn lbs(e: &Experiment) -> Vec<(usize, usize, u64)> {
    e.runs.iter().map(|r| (r.config.model.levels.get(), r.config.model.blocks, r.config.seed)).collect()
}

const HEAD: &str = "[experiment]\nname = \"t\"\n";

#[test]
fn no_sweep_is_one_run_of_the_base() {
    let e = load(&format!("{HEAD}[train]\nepochs = 3\n"), None, &[]);
    assert_eq!(e.name, "t");
    assert_eq!(e.description, None);
    assert_eq!(e.runs.len(), 1);
    assert!(e.varying_keys.is_empty() && e.axes.is_empty() && e.notes.is_empty());
    let mut expected = RunConfig::default();
    expected.train.epochs = 3;
    assert_eq!(e.runs[0].config, expected);
    assert_eq!(e.base_config(), &expected);
    assert!(e.runs[0].varying.is_empty());
}

#[test]
fn grid_is_a_cartesian_product_in_file_order_first_key_slowest() {
    // "model.levels" sorts after "model.blocks"; file order must win.
    let e = load(
        &format!("{HEAD}[sweep]\n\"model.levels\" = [2, 256]\n\"model.blocks\" = [1, 2, 3]\n"),
        None,
        &[],
    );
    assert_eq!(lbs(&e), vec![(2, 1, 42), (2, 2, 42), (2, 3, 42), (256, 1, 42), (256, 2, 42), (256, 3, 42)]);
    assert_eq!(e.varying_keys, vec!["model.levels", "model.blocks"]);
    assert_eq!(e.runs[4].varying.get("model.levels"), Some(&int(256)));
    assert_eq!(e.runs[4].varying.get("model.blocks"), Some(&int(2)));
    assert_eq!(e.runs[4].varying.len(), 2);
    assert_eq!(e.axes.len(), 2);
    assert_eq!(e.axes[0].kind, AxisKind::Grid);
}

#[test]
fn nested_sweep_tables_name_the_same_keys() {
    let e = load(&format!("{HEAD}[sweep.model]\nlevels = [2, 4]\n"), None, &[]);
    assert_eq!(e.runs.len(), 2);
    assert_eq!(e.varying_keys, vec!["model.levels"]);
}

#[test]
fn seeds_are_the_innermost_axis_and_set_the_seed() {
    let e = load(&format!("{HEAD}[sweep]\nseeds = [7, 8, 9]\n\"model.levels\" = [2, 256]\n"), None, &[]);
    let seeds: Vec<(usize, u64)> =
        e.runs.iter().map(|r| (r.config.model.levels.get(), r.config.seed)).collect();
    assert_eq!(seeds, vec![(2, 7), (2, 8), (2, 9), (256, 7), (256, 8), (256, 9)]);
    assert_eq!(e.varying_keys, vec!["model.levels", "seed"]);
    assert_eq!(e.axes.last().unwrap().kind, AxisKind::Seeds);
    assert_eq!(e.runs[1].varying.get("seed"), Some(&int(8)));
}

#[test]
fn zip_groups_move_together() {
    let text = format!(
        "{HEAD}[sweep]\n\"model.levels\" = [2, 256]\n\
         [sweep.zip.schedule]\n\"train.lr\" = [1e-3, 3e-3, 1e-2]\n\"train.lr_decay\" = [1.0, 0.9999, 0.999]\n"
    );
    let e = load(&text, None, &[]);
    let got: Vec<(usize, f64, f64)> = e
        .runs
        .iter()
        .map(|r| (r.config.model.levels.get(), r.config.train.lr, r.config.train.lr_decay))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, 1e-3, 1.0),
            (2, 3e-3, 0.9999),
            (2, 1e-2, 0.999),
            (256, 1e-3, 1.0),
            (256, 3e-3, 0.9999),
            (256, 1e-2, 0.999)
        ]
    );
    assert_eq!(e.axes[1].kind, AxisKind::Zip("schedule".into()));
    assert_eq!(e.axes[1].keys, vec!["train.lr", "train.lr_decay"]);
    assert_eq!(e.axes[1].section, "sweep.zip.schedule");
    assert_eq!(e.varying_keys, vec!["model.levels", "train.lr", "train.lr_decay"]);
}

#[test]
fn log_and_linear_ranges_expand() {
    let e = load(&format!("{HEAD}[sweep]\n\"train.lr\" = {{ log = [1e-4, 1e-2], num = 3 }}\n"), None, &[]);
    let lrs: Vec<f64> = e.runs.iter().map(|r| r.config.train.lr).collect();
    assert_eq!(lrs, vec![1e-4, 1e-3, 1e-2]);

    let e =
        load(&format!("{HEAD}[sweep]\n\"train.clip_norm\" = {{ linear = [0.5, 2], num = 4 }}\n"), None, &[]);
    let clips: Vec<f64> = e.runs.iter().map(|r| r.config.train.clip_norm).collect();
    assert_eq!(clips, vec![0.5, 1.0, 1.5, 2.0]);
}

#[test]
fn integer_keys_get_integers_from_exact_ranges() {
    let e = load(&format!("{HEAD}[sweep]\n\"model.hidden\" = {{ log = [16, 64], num = 3 }}\n"), None, &[]);
    assert_eq!(e.runs.iter().map(|r| r.config.model.hidden).collect::<Vec<_>>(), vec![16, 32, 64]);
    assert_eq!(e.axes[0].steps, vec![vec![int(16)], vec![int(32)], vec![int(64)]]);

    let e = load(&format!("{HEAD}[sweep]\n\"model.blocks\" = {{ linear = [1, 7], num = 4 }}\n"), None, &[]);
    assert_eq!(e.runs.iter().map(|r| r.config.model.blocks).collect::<Vec<_>>(), vec![1, 3, 5, 7]);

    let e = load(&format!("{HEAD}[sweep]\nseeds = {{ linear = [1, 3], num = 3 }}\n"), None, &[]);
    assert_eq!(e.runs.iter().map(|r| r.config.seed).collect::<Vec<_>>(), vec![1, 2, 3]);
}

#[test]
fn integer_written_for_a_float_key_is_normalised() {
    let e = load(&format!("{HEAD}[sweep]\n\"train.lr_decay\" = [1, 0.999]\n"), None, &[]);
    assert_eq!(e.runs[0].varying.get("train.lr_decay"), Some(&Value::Float(1.0)));
}

const PROFILED: &str = r#"
[experiment]
name = "p"
description = "profiles"

[train]
epochs = 50
lr = 0.002

[sweep]
"model.levels" = [2, 256]
"model.blocks" = [4, 8]
seeds = [42, 43, 44]

[sweep.zip.schedule]
"train.lr_decay" = [1.0, 0.9999]
"train.clip_norm" = [1.0, 2.0]

[profile.quick.train]
epochs = 2

[profile.quick.model]
blocks = 1

[profile.quick.sweep]
"model.levels" = [4]
seeds = [1]

[profile.wide.sweep]
"model.hidden" = [8, 16]

[profile.zipped.sweep.zip.schedule]
"train.lr_decay" = [0.99]
"train.clip_norm" = [3.0]
"#;

#[test]
fn without_a_profile_the_file_sweep_applies() {
    let e = load(PROFILED, None, &[]);
    assert_eq!(e.runs.len(), 2 * 2 * 2 * 3);
    assert_eq!(e.description.as_deref(), Some("profiles"));
    assert_eq!(e.profiles, vec!["quick", "wide", "zipped"]);
    assert_eq!(e.base.train.epochs, 50);
}

#[test]
fn a_profile_replaces_axes_and_seeds_and_fixes_swept_keys() {
    let e = load(PROFILED, Some("quick"), &[]);
    assert_eq!(e.profile.as_deref(), Some("quick"));
    // levels [4] and seeds [1] replace the file's; blocks = 1 fixes the blocks axis; the zip stays.
    assert_eq!(e.runs.len(), 2);
    assert!(e.runs.iter().all(|r| r.config.model.levels.get() == 4 && r.config.seed == 1));
    assert!(e.runs.iter().all(|r| r.config.model.blocks == 1 && r.config.train.epochs == 2));
    assert_eq!(e.runs.iter().map(|r| r.config.train.clip_norm).collect::<Vec<_>>(), vec![1.0, 2.0]);
    assert_eq!(e.varying_keys, vec!["train.lr_decay", "train.clip_norm"]);
    assert!(
        e.notes.contains(
            &"[profile.quick] model.blocks = 1 replaces the sweep axis model.blocks = [4, 8]".to_owned()
        ),
        "{:?}",
        e.notes
    );
    assert!(
        e.notes.contains(
            &"[profile.quick.sweep] model.levels = [4] replaces the sweep axis model.levels = [2, 256]"
                .to_owned()
        ),
        "{:?}",
        e.notes
    );
    assert!(
        e.notes.iter().any(|n| n.contains("seeds = [1] replaces the sweep axis seeds = [42, 43, 44]")),
        "{:?}",
        e.notes
    );
}

#[test]
fn a_profile_adds_axes_after_the_files() {
    let e = load(PROFILED, Some("wide"), &[]);
    assert_eq!(e.runs.len(), 2 * 2 * 2 * 2 * 3);
    assert_eq!(
        e.varying_keys,
        vec!["model.levels", "model.blocks", "train.lr_decay", "train.clip_norm", "model.hidden", "seed"]
    );
}

#[test]
fn a_profile_zip_group_replaces_the_group_of_the_same_name() {
    let e = load(PROFILED, Some("zipped"), &[]);
    assert_eq!(e.runs.len(), 2 * 2 * 3);
    assert!(e.runs.iter().all(|r| r.config.train.lr_decay == 0.99 && r.config.train.clip_norm == 3.0));
    assert!(!e.varying_keys.contains(&"train.lr_decay".to_owned()));
}

#[test]
fn set_on_a_swept_key_replaces_the_axis_and_says_so() {
    let e = load(PROFILED, None, &["model.levels=2"]);
    assert_eq!(e.runs.len(), 2 * 2 * 3);
    assert!(e.runs.iter().all(|r| r.config.model.levels.get() == 2));
    assert_eq!(e.notes, vec!["--set model.levels=2 replaces the sweep axis model.levels = [2, 256]"]);
    assert_eq!(e.overrides, vec!["model.levels=2"]);

    let e = load(PROFILED, None, &["seed=5", "train.lr_decay=0.5"]);
    assert_eq!(e.runs.len(), 2 * 2 * 2);
    assert!(e.runs.iter().all(|r| r.config.seed == 5 && r.config.train.lr_decay == 0.5));
    assert_eq!(e.runs.iter().map(|r| r.config.train.clip_norm).collect::<Vec<_>>()[..2], [1.0, 2.0]);
    assert!(e.notes.contains(&"--set seed=5 replaces the sweep axis seeds = [42, 43, 44]".to_owned()));
    assert!(e.notes.contains(
        &"--set train.lr_decay=0.5 replaces the sweep axis train.lr_decay = [1.0, 0.9999] (zip group schedule)".to_owned()
    ));
}

#[test]
fn each_layer_beats_the_one_below() {
    let text = r#"
[experiment]
name = "layers"
[train]
epochs = 10
batch_size = 64
lr = 0.005
[profile.p.train]
batch_size = 32
lr = 0.004
"#;
    let defaults = RunConfig::default();
    // defaults < file
    let e = load(text, None, &[]);
    assert_eq!(e.base.train.epochs, 10);
    assert_eq!(e.base.train.clip_norm, defaults.train.clip_norm);
    // file < profile
    let e = load(text, Some("p"), &[]);
    assert_eq!((e.base.train.epochs, e.base.train.batch_size, e.base.train.lr), (10, 32, 0.004));
    // profile < --set
    let e = load(text, Some("p"), &["train.lr=0.003"]);
    assert_eq!((e.base.train.batch_size, e.base.train.lr), (32, 0.003));
    assert_eq!(e.runs[0].config, e.base);
}

#[test]
fn file_hash_is_the_sha256_of_the_bytes() {
    let f = file(&format!("seed = 1\n{HEAD}"));
    let e = load_experiment(&f.path, None, &[]).unwrap();
    assert_eq!(e.file_hash, hex_sha(&std::fs::read(&f.path).unwrap()));
    assert_eq!(e.file, f.path);
    assert_eq!(e.runs[0].config.seed, 1);
}

fn hex_sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn an_experiment_serialises_to_json() {
    let e = load(PROFILED, Some("quick"), &[]);
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 2);
    assert_eq!(json["profile"], "quick");
}

fn experiments_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments")
}

#[test]
fn shipped_experiment_files_load_with_and_without_the_quick_profile() {
    // (file, runs of the full sweep, runs of the quick profile)
    let expected = [
        ("levels.toml", 6, 6),
        ("blocks.toml", 9, 9),
        ("filters.toml", 9, 9),
        ("lr-decay.toml", 12, 12),
        ("lr-search.toml", 18, 18),
        ("architectures.toml", 18, 18),
    ];
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(experiments_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.extension().is_none_or(|x| x != "toml") || name == "quick-run.toml" {
            continue;
        }
        let (_, full, quick) = expected
            .iter()
            .find(|(n, _, _)| *n == name)
            .unwrap_or_else(|| panic!("no expectation for {name}"));
        let e = load_experiment(&path, None, &[]).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(e.runs.len(), *full, "{name}");
        assert!(e.profiles.contains(&"quick".to_owned()), "{name}");
        let q = load_experiment(&path, Some("quick"), &[]).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(q.runs.len(), *quick, "{name} --profile quick");
        assert!(q.varying_keys.contains(&"seed".to_owned()), "{name}");
        for run in &q.runs {
            let c = &run.config;
            assert!(c.train.epochs <= 3 && c.data.train_limit.is_some_and(|n| n <= 4000), "{name}: {c:?}");
            assert!(
                c.sample.count <= 30 && c.sample.complete <= 5 && c.model.blocks <= 4 && c.model.hidden <= 16
            );
            let gated = c.model.family == pixelcnn_config::ModelFamily::Gated;
            assert!(!gated || (c.model.gated.layers <= 4 && c.model.gated.channels <= 16), "{name}: {c:?}");
        }
        seen.push(name);
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![
            "architectures.toml",
            "blocks.toml",
            "filters.toml",
            "levels.toml",
            "lr-decay.toml",
            "lr-search.toml"
        ]
    );
}

/// The architecture comparison: each q holds the seed's PixelCNN, the gated PixelCNN and its
/// label-conditional form, three seeds each, on the seed's recipe.
#[test]
fn architectures_compares_families_per_level_count() {
    use pixelcnn_config::{Condition, ModelFamily};
    let e = load_experiment(&experiments_dir().join("architectures.toml"), None, &[]).unwrap();
    assert_eq!(e.varying_keys, vec!["model.levels", "model.family", "model.condition", "seed"]);
    assert_eq!(e.base.train, RunConfig::default().train);
    let runs: Vec<(usize, ModelFamily, Condition, u64)> = e
        .runs
        .iter()
        .map(|r| {
            (r.config.model.levels.get(), r.config.model.family, r.config.model.condition, r.config.seed)
        })
        .collect();
    let mut expected = Vec::new();
    for q in [2, 256] {
        for (family, condition) in [
            (ModelFamily::PixelCnn, Condition::None),
            (ModelFamily::Gated, Condition::None),
            (ModelFamily::Gated, Condition::Label),
        ] {
            expected.extend([42, 43, 44].map(|seed| (q, family, condition, seed)));
        }
    }
    assert_eq!(runs, expected);
    assert_eq!((e.base.model.blocks, e.base.model.hidden), (15, 64));
}

#[test]
fn levels_is_the_seed_recipe_over_two_level_counts_and_three_seeds() {
    let e = load_experiment(&experiments_dir().join("levels.toml"), None, &[]).unwrap();
    let seed = RunConfig::default();
    assert_eq!(e.base.model, seed.model);
    assert_eq!(e.base.train, seed.train);
    assert_eq!(e.varying_keys, vec!["model.levels", "seed"]);
    assert_eq!(
        lbs(&e),
        vec![(2, 15, 42), (2, 15, 43), (2, 15, 44), (256, 15, 42), (256, 15, 43), (256, 15, 44)]
    );
}

#[test]
fn the_readme_example_expands_as_documented() {
    let readme = std::fs::read_to_string(experiments_dir().join("README.md")).unwrap();
    let start = readme.find("```toml\n").expect("a toml example") + "```toml\n".len();
    let example = &readme[start..start + readme[start..].find("```").unwrap()];
    let e = load(example, None, &[]);
    assert_eq!(e.runs.len(), 54);
    assert_eq!(e.varying_keys, vec!["model.levels", "model.hidden", "train.lr", "train.lr_decay", "seed"]);
    assert_eq!(e.axes[1].steps, vec![vec![int(16)], vec![int(32)], vec![int(64)]]);
    let q = load(example, Some("quick"), &[]);
    assert_eq!(q.runs.len(), 6);
    assert!(q.runs.iter().all(|r| r.config.model.hidden == 8 && r.config.train.epochs == 2));
}

#[test]
fn a_profile_may_set_top_level_keys() {
    let e = load(
        &format!("device = \"flex\"\n{HEAD}[profile.cpu]\ndevice = \"cpu\"\nthreads = 1\n"),
        Some("cpu"),
        &[],
    );
    assert_eq!((e.base.device, e.base.threads), (pixelcnn_config::DeviceSpec::Cpu, 1));
    let e = load(&format!("device = \"flex\"\n{HEAD}[profile.cpu]\ndevice = \"cpu\"\n"), None, &[]);
    assert_eq!(e.base.device, pixelcnn_config::DeviceSpec::Flex);
}

#[test]
fn launcher_settings_come_from_the_file_and_its_profile_and_leave_the_runs_alone() {
    let text = format!(
        "{HEAD}[train]\nepochs = 3\n\
         [launcher.slurm]\npartition = \"cpu\"\ntime = \"60\"\nextra = [\"--account=vision\"]\n\
         [profile.gpu.launcher.slurm]\npartition = \"gpu\"\ngpus_per_task = 1\nextra = [\"--qos=long\"]\n"
    );
    let plain = load(&text, None, &[]);
    let slurm = &plain.launcher.slurm;
    assert_eq!((slurm.partition.as_deref(), slurm.time.as_deref()), (Some("cpu"), Some("60")));
    assert_eq!(slurm.gpus_per_task, None);
    let gpu = load(&text, Some("gpu"), &[]);
    let slurm = &gpu.launcher.slurm;
    assert_eq!((slurm.partition.as_deref(), slurm.time.as_deref()), (Some("gpu"), Some("60")));
    assert_eq!(slurm.gpus_per_task, Some(1));
    assert_eq!(slurm.extra, ["--account=vision", "--qos=long"]);
    // Where a run trains is not part of what it is.
    let without = load(&format!("{HEAD}[train]\nepochs = 3\n"), None, &[]);
    assert_eq!(plain.runs[0].config, without.runs[0].config);
    assert_eq!(gpu.runs[0].config, without.runs[0].config);
}
