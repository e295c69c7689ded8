//! Bad experiment files and overrides: each is rejected before anything runs, with an error that
//! names the file and the key (or the file's line and column for a syntax error).

use std::path::PathBuf;

use pixelcnn_config::{ConfigError, Override, load_experiment};

struct Case {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Case {
    fn new(text: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        Self { _dir: dir, path }
    }

    fn file(&self) -> String {
        self.path.display().to_string()
    }
}

/// Loads `text` (as `bad.toml`) and returns the error, its Display and the file name.
fn fail(text: &str, profile: Option<&str>, overrides: &[&str]) -> (ConfigError, String, String) {
    let case = Case::new(text);
    let overrides: Vec<Override> = overrides.iter().map(|s| Override::parse(s).unwrap()).collect();
    match load_experiment(&case.path, profile, &overrides) {
        Ok(e) => panic!("expected an error, got {} runs from:\n{text}", e.runs.len()),
        Err(err) => {
            let shown = err.to_string();
            (err, shown, case.file())
        }
    }
}

/// Asserts that the message names the file and every one of `parts`.
fn names(shown: &str, file: &str, parts: &[&str]) {
    assert!(shown.contains(file), "{shown:?} does not name {file}");
    for part in parts {
        assert!(shown.contains(part), "{shown:?} does not name {part:?}");
    }
}

const HEAD: &str = "[experiment]\nname = \"bad\"\n";

fn with_head(rest: &str) -> String {
    format!("{HEAD}{rest}")
}

#[test]
fn syntax_error_shows_file_line_and_column() {
    let (err, shown, file) = fail(&with_head("[sweep]\n\"model.levels\" = [2, 256\n"), None, &[]);
    let ConfigError::Syntax { line, column, .. } = &err else { panic!("{err:?}") };
    assert!(*line >= 4 && *column >= 1, "{line}:{column}");
    assert!(shown.starts_with(&format!("{file}:{line}:{column}: ")), "{shown}");
}

#[test]
fn missing_experiment_table() {
    let (err, shown, file) = fail("[train]\nepochs = 2\n", None, &[]);
    let ConfigError::MissingKey { key, hint, .. } = &err else { panic!("{err:?}") };
    assert_eq!(key, "experiment.name");
    assert!(hint.contains("name = \"bad\""), "{hint}");
    names(&shown, &file, &["experiment.name"]);
}

#[test]
fn missing_experiment_name() {
    let (err, shown, file) = fail("[experiment]\ndescription = \"no name\"\n", None, &[]);
    assert!(matches!(&err, ConfigError::MissingKey { key, .. } if key == "experiment.name"), "{err:?}");
    names(&shown, &file, &["experiment.name"]);
}

#[test]
fn experiment_name_of_the_wrong_type() {
    let (err, shown, file) = fail("[experiment]\nname = 3\n", None, &[]);
    assert!(matches!(&err, ConfigError::InvalidValue { key, .. } if key == "experiment.name"), "{err:?}");
    names(&shown, &file, &["experiment.name", "string"]);
}

#[test]
fn empty_experiment_name() {
    let (err, shown, file) = fail("[experiment]\nname = \" \"\n", None, &[]);
    assert!(matches!(&err, ConfigError::InvalidValue { key, .. } if key == "experiment.name"), "{err:?}");
    names(&shown, &file, &["experiment.name", "empty"]);
}

#[test]
fn unknown_experiment_key_suggests_the_closest() {
    let (err, shown, file) = fail("[experiment]\nname = \"x\"\ndescripton = \"typo\"\n", None, &[]);
    let ConfigError::UnknownKey { key, suggestion, .. } = &err else { panic!("{err:?}") };
    assert_eq!(
        (key.as_str(), suggestion.as_deref()),
        ("experiment.descripton", Some("experiment.description"))
    );
    names(&shown, &file, &["experiment.descripton", "did you mean `experiment.description`"]);
}

#[test]
fn run_key_below_the_experiment_header() {
    let (err, shown, file) = fail("[experiment]\nname = \"x\"\nseed = 3\n", None, &[]);
    assert!(matches!(&err, ConfigError::InvalidValue { key, .. } if key == "experiment.seed"), "{err:?}");
    names(&shown, &file, &["experiment.seed", "move `seed` above [experiment]"]);
}

#[test]
fn unknown_top_level_table_suggests_sweep() {
    let (err, shown, file) = fail(&with_head("[swep]\nseeds = [1]\n"), None, &[]);
    let ConfigError::UnknownKey { key, suggestion, .. } = &err else { panic!("{err:?}") };
    assert_eq!((key.as_str(), suggestion.as_deref()), ("swep", Some("sweep")));
    names(&shown, &file, &["swep"]);
}

#[test]
fn top_level_key_that_belongs_in_a_section() {
    let (err, shown, file) = fail(&format!("epochs = 3\n{HEAD}"), None, &[]);
    let ConfigError::UnknownKey { key, suggestion, .. } = &err else { panic!("{err:?}") };
    assert_eq!((key.as_str(), suggestion.as_deref()), ("epochs", Some("train.epochs")));
    names(&shown, &file, &["epochs"]);
}

#[test]
fn unknown_key_in_a_base_section() {
    let (err, shown, file) = fail(&with_head("[train]\nepoch = 3\n"), None, &[]);
    let ConfigError::UnknownKey { key, suggestion, origin } = &err else { panic!("{err:?}") };
    assert_eq!((key.as_str(), suggestion.as_deref()), ("train.epoch", Some("train.epochs")));
    assert_eq!(origin, &file);
    names(&shown, &file, &["train.epoch"]);
}

#[test]
fn wrong_type_in_the_base() {
    let (err, shown, file) = fail(&with_head("[train]\nbatch_size = \"big\"\n"), None, &[]);
    assert!(matches!(&err, ConfigError::InvalidValue { key, .. } if key == "train.batch_size"), "{err:?}");
    names(&shown, &file, &["train.batch_size"]);
}

#[test]
fn out_of_range_values_in_the_base() {
    for (section, key, value) in [
        ("model", "levels", "300"),
        ("model", "levels", "1"),
        ("model", "blocks", "0"),
        ("train", "lr", "0.0"),
        ("train", "lr", "-1e-3"),
        ("train", "lr_decay", "0.0"),
        ("train", "lr_decay", "1.5"),
        ("train", "batch_size", "0"),
        ("train", "epochs", "0"),
    ] {
        let (err, shown, file) = fail(&with_head(&format!("[{section}]\n{key} = {value}\n")), None, &[]);
        let dotted = format!("{section}.{key}");
        assert!(matches!(&err, ConfigError::InvalidValue { key, .. } if *key == dotted), "{err:?}");
        names(&shown, &file, &[&dotted]);
    }
}

#[test]
fn sweep_key_that_is_not_a_config_key() {
    let (err, shown, file) = fail(&with_head("[sweep]\n\"model.levls\" = [2, 256]\n"), None, &[]);
    let ConfigError::UnknownKey { key, suggestion, origin } = &err else { panic!("{err:?}") };
    assert_eq!((key.as_str(), suggestion.as_deref()), ("model.levls", Some("model.levels")));
    assert_eq!(origin, &format!("{file} [sweep]"));
    names(&shown, &file, &["[sweep]", "model.levls", "model.levels"]);
}

#[test]
fn sweep_over_a_whole_section() {
    let (err, shown, file) = fail(&with_head("[sweep]\nmodel = [1, 2]\n"), None, &[]);
    assert!(matches!(&err, ConfigError::UnknownKey { key, .. } if key == "model"), "{err:?}");
    names(&shown, &file, &["model"]);
}

#[test]
fn out_of_range_sweep_value_names_key_and_value() {
    let (err, shown, file) = fail(&with_head("[sweep]\n\"model.levels\" = [2, 300]\n"), None, &[]);
    let ConfigError::SweepValue { key, value, section, .. } = &err else { panic!("{err:?}") };
    assert_eq!((key.as_str(), value.as_str(), section.as_str()), ("model.levels", "300", "sweep"));
    assert!(shown.starts_with(&format!("{file}: [sweep] model.levels = 300: ")), "{shown}");
}

#[test]
fn every_range_rule_applies_to_sweep_values() {
    for (key, value) in [
        ("model.blocks", "0"),
        ("train.lr", "0"),
        ("train.lr_decay", "0.0"),
        ("train.lr_decay", "1.01"),
        ("train.batch_size", "0"),
        ("train.epochs", "0"),
        ("model.levels", "1"),
    ] {
        let (err, shown, file) = fail(&with_head(&format!("[sweep]\n\"{key}\" = [{value}]\n")), None, &[]);
        assert!(matches!(&err, ConfigError::SweepValue { key: k, .. } if k == key), "{err:?}");
        names(&shown, &file, &[&format!("[sweep] {key} = {value}")]);
    }
}

#[test]
fn sweep_value_of_the_wrong_type() {
    let (err, shown, file) = fail(&with_head("[sweep]\n\"train.batch_size\" = [32, \"big\"]\n"), None, &[]);
    assert!(matches!(&err, ConfigError::SweepValue { key, .. } if key == "train.batch_size"), "{err:?}");
    names(&shown, &file, &["[sweep] train.batch_size = \"big\""]);
}

#[test]
fn negative_seed() {
    let (err, shown, file) = fail(&with_head("[sweep]\nseeds = [1, -1]\n"), None, &[]);
    assert!(
        matches!(&err, ConfigError::SweepValue { key, value, .. } if key == "seed" && value == "-1"),
        "{err:?}"
    );
    names(&shown, &file, &["seed = -1"]);
}

#[test]
fn empty_sweep_axis() {
    let (err, shown, file) = fail(&with_head("[sweep]\n\"model.blocks\" = []\n"), None, &[]);
    assert!(matches!(&err, ConfigError::EmptyAxis { key, .. } if key == "model.blocks"), "{err:?}");
    names(&shown, &file, &["[sweep] model.blocks", "empty"]);
}

#[test]
fn empty_seeds() {
    let (err, shown, file) = fail(&with_head("[sweep]\nseeds = []\n"), None, &[]);
    assert!(matches!(&err, ConfigError::EmptyAxis { key, .. } if key == "seeds"), "{err:?}");
    names(&shown, &file, &["[sweep] seeds"]);
}

#[test]
fn sweep_axis_that_is_not_a_list() {
    let (err, shown, file) = fail(&with_head("[sweep]\n\"model.levels\" = 2\n"), None, &[]);
    assert!(matches!(&err, ConfigError::BadSweep { key, .. } if key == "model.levels"), "{err:?}");
    names(&shown, &file, &["[sweep] model.levels", "list of values"]);
}

#[test]
fn sweep_that_is_not_a_table() {
    let (err, shown, file) = fail(&format!("sweep = 3\n{HEAD}"), None, &[]);
    assert!(matches!(&err, ConfigError::InvalidValue { key, .. } if key == "sweep"), "{err:?}");
    names(&shown, &file, &["sweep"]);
}

#[test]
fn repeated_sweep_value() {
    let (err, shown, file) = fail(&with_head("[sweep]\n\"model.levels\" = [2, 2]\n"), None, &[]);
    assert!(matches!(&err, ConfigError::BadSweep { key, .. } if key == "model.levels"), "{err:?}");
    names(&shown, &file, &["model.levels", "more than once"]);
}

#[test]
fn key_swept_twice() {
    let text = with_head(
        "[sweep]\n\"train.lr\" = [1e-3, 1e-2]\n[sweep.zip.g]\n\"train.lr\" = [1e-3]\n\"train.lr_decay\" = [1.0]\n",
    );
    let (err, shown, file) = fail(&text, None, &[]);
    assert!(matches!(&err, ConfigError::BadSweep { key, .. } if key == "train.lr"), "{err:?}");
    names(&shown, &file, &["train.lr", "swept twice"]);

    let (err, _, _) = fail(&with_head("[sweep]\nseed = [1, 2]\nseeds = [3]\n"), None, &[]);
    assert!(
        matches!(&err, ConfigError::BadSweep { message, .. } if message.contains("swept twice")),
        "{err:?}"
    );
}

#[test]
fn zip_group_of_unequal_lengths_names_the_group() {
    let text = with_head(
        "[sweep.zip.decay_schedule]\n\"train.lr\" = [1e-3, 1e-2]\n\"train.lr_decay\" = [1.0, 0.999, 0.99]\n",
    );
    let (err, shown, file) = fail(&text, None, &[]);
    let ConfigError::ZipLengths { group, lengths, .. } = &err else { panic!("{err:?}") };
    assert_eq!(group, "decay_schedule");
    assert_eq!(lengths, &vec![("train.lr".to_owned(), 2), ("train.lr_decay".to_owned(), 3)]);
    names(&shown, &file, &["decay_schedule", "train.lr: 2", "train.lr_decay: 3"]);
}

#[test]
fn unknown_key_in_a_zip_group() {
    let (err, shown, file) = fail(&with_head("[sweep.zip.g]\n\"train.lrr\" = [1e-3]\n"), None, &[]);
    let ConfigError::UnknownKey { key, suggestion, origin } = &err else { panic!("{err:?}") };
    assert_eq!((key.as_str(), suggestion.as_deref()), ("train.lrr", Some("train.lr")));
    assert_eq!(origin, &format!("{file} [sweep.zip.g]"));
    names(&shown, &file, &["train.lrr"]);
}

#[test]
fn zip_group_that_is_not_a_table() {
    let (err, shown, file) = fail(&with_head("[sweep.zip]\ng = [1, 2]\n"), None, &[]);
    assert!(matches!(&err, ConfigError::BadSweep { key, .. } if key == "zip.g"), "{err:?}");
    names(&shown, &file, &["zip.g"]);
}

#[test]
fn range_errors() {
    let cases: [(&str, &str); 7] = [
        ("\"train.lr\" = { log = [1e-4, 1e-2] }", "needs num"),
        ("\"train.lr\" = { log = [-1e-4, 1e-2], num = 3 }", "positive"),
        ("\"train.lr\" = { log = [1e-4], num = 3 }", "two numbers"),
        ("\"train.lr\" = { log = [1e-4, 1e-2], linear = [1, 2], num = 3 }", "not both"),
        ("\"model.hidden\" = { linear = [16, 64], num = 6 }", "whole numbers"),
        ("\"device\" = { linear = [1, 2], num = 2 }", "not numeric"),
        ("\"train.lr\" = { log = [1e-4, 1e-2], num = 2.5 }", "whole number"),
    ];
    for (line, expected) in cases {
        let (err, shown, file) = fail(&with_head(&format!("[sweep]\n{line}\n")), None, &[]);
        assert!(matches!(&err, ConfigError::BadSweep { .. }), "{line}: {err:?}");
        let key = if line.contains("hidden") {
            "model.hidden"
        } else if line.contains("device") {
            "device"
        } else {
            "train.lr"
        };
        names(&shown, &file, &[key, expected]);
    }
    let (err, shown, file) =
        fail(&with_head("[sweep]\n\"train.lr\" = { log = [1e-4, 1e-2], num = 0 }\n"), None, &[]);
    assert!(matches!(&err, ConfigError::EmptyAxis { key, .. } if key == "train.lr"), "{err:?}");
    names(&shown, &file, &["train.lr"]);
}

#[test]
fn range_with_an_unknown_key() {
    let (err, shown, file) =
        fail(&with_head("[sweep]\n\"train.lr\" = { lin = [1e-4, 1e-2], num = 3 }\n"), None, &[]);
    let ConfigError::UnknownKey { key, suggestion, .. } = &err else { panic!("{err:?}") };
    assert_eq!((key.as_str(), suggestion.as_deref()), ("train.lr.lin", Some("train.lr.linear")));
    names(&shown, &file, &["train.lr.lin"]);
}

#[test]
fn unknown_profile_lists_the_available_ones() {
    let text = with_head("[profile.quick.train]\nepochs = 1\n[profile.tiny.train]\nepochs = 2\n");
    let (err, shown, file) = fail(&text, Some("quik"), &[]);
    let ConfigError::UnknownProfile { name, available, .. } = &err else { panic!("{err:?}") };
    assert_eq!(name, "quik");
    assert_eq!(available, &vec!["quick".to_owned(), "tiny".to_owned()]);
    names(&shown, &file, &["quik", "available: quick, tiny"]);

    let (err, shown, file) = fail(HEAD, Some("quick"), &[]);
    assert!(matches!(&err, ConfigError::UnknownProfile { available, .. } if available.is_empty()), "{err:?}");
    names(&shown, &file, &["quick", "defines none"]);
}

#[test]
fn unknown_section_in_a_profile() {
    let (err, shown, file) = fail(&with_head("[profile.quick.trian]\nepochs = 1\n"), Some("quick"), &[]);
    let ConfigError::UnknownKey { key, suggestion, origin } = &err else { panic!("{err:?}") };
    assert_eq!((key.as_str(), suggestion.as_deref()), ("trian", Some("train")));
    assert_eq!(origin, &format!("{file} [profile.quick]"));
    names(&shown, &file, &["[profile.quick]", "trian"]);
}

#[test]
fn unknown_key_in_a_profile_section_even_when_not_selected() {
    for profile in [Some("quick"), None] {
        let (err, shown, file) = fail(&with_head("[profile.quick.train]\nepoch = 1\n"), profile, &[]);
        let ConfigError::UnknownKey { key, suggestion, origin } = &err else { panic!("{err:?}") };
        assert_eq!((key.as_str(), suggestion.as_deref()), ("train.epoch", Some("train.epochs")));
        assert_eq!(origin, &format!("{file} [profile.quick]"));
        names(&shown, &file, &["train.epoch"]);
    }
}

#[test]
fn out_of_range_value_in_a_profile() {
    let (err, shown, file) = fail(&with_head("[profile.quick.train]\nbatch_size = 0\n"), Some("quick"), &[]);
    let ConfigError::InvalidValue { key, origin, .. } = &err else { panic!("{err:?}") };
    assert_eq!(key, "train.batch_size");
    assert_eq!(origin, &format!("{file} [profile.quick]"));
    names(&shown, &file, &["train.batch_size"]);
}

#[test]
fn wrong_type_in_a_profile() {
    let (err, shown, file) = fail(&with_head("[profile.quick.model]\nlevels = \"two\"\n"), None, &[]);
    assert!(matches!(&err, ConfigError::InvalidValue { key, .. } if key == "model.levels"), "{err:?}");
    names(&shown, &file, &["[profile.quick]", "model.levels"]);
}

#[test]
fn bad_value_in_a_profile_sweep() {
    let text = with_head(
        "[sweep]\n\"train.lr_decay\" = [1.0]\n[profile.quick.sweep]\n\"train.lr_decay\" = [0.99, 1.5]\n",
    );
    let (err, shown, file) = fail(&text, Some("quick"), &[]);
    let ConfigError::SweepValue { key, section, value, .. } = &err else { panic!("{err:?}") };
    assert_eq!(
        (key.as_str(), section.as_str(), value.as_str()),
        ("train.lr_decay", "profile.quick.sweep", "1.5")
    );
    assert!(shown.starts_with(&format!("{file}: [profile.quick.sweep] train.lr_decay = 1.5: ")), "{shown}");
}

#[test]
fn unknown_key_in_a_profile_sweep() {
    let (err, shown, file) =
        fail(&with_head("[profile.quick.sweep]\nseed = [1]\n\"model.level\" = [2]\n"), None, &[]);
    let ConfigError::UnknownKey { key, origin, .. } = &err else { panic!("{err:?}") };
    assert_eq!(key, "model.level");
    assert_eq!(origin, &format!("{file} [profile.quick.sweep]"));
    names(&shown, &file, &["model.level"]);
}

#[test]
fn profile_that_is_not_a_table() {
    let (err, shown, file) = fail(&with_head("[profile]\nquick = 1\n"), None, &[]);
    assert!(matches!(&err, ConfigError::InvalidValue { key, .. } if key == "profile.quick"), "{err:?}");
    names(&shown, &file, &["profile.quick"]);
}

#[test]
fn profile_changing_a_zip_member_to_another_length() {
    let text = with_head(
        "[sweep.zip.s]\n\"train.lr\" = [1e-3, 1e-2]\n\"train.lr_decay\" = [1.0, 0.999]\n\
         [profile.quick.sweep]\n\"train.lr\" = [1e-3]\n",
    );
    let (err, shown, file) = fail(&text, None, &[]);
    assert!(matches!(&err, ConfigError::ZipLengths { group, .. } if group == "s"), "{err:?}");
    names(&shown, &file, &["zip group `s`"]);
}

#[test]
fn set_with_an_unknown_key() {
    let (err, shown, _) = fail(HEAD, None, &["train.epocs=2"]);
    let ConfigError::UnknownKey { key, origin, suggestion } = &err else { panic!("{err:?}") };
    assert_eq!((key.as_str(), suggestion.as_deref()), ("train.epocs", Some("train.epochs")));
    assert!(origin.contains("--set"), "{origin}");
    assert!(shown.contains("train.epocs"), "{shown}");
}

#[test]
fn set_with_an_out_of_range_value() {
    let (err, shown, _) = fail(&with_head("[sweep]\n\"train.epochs\" = [1, 2]\n"), None, &["train.epochs=0"]);
    let ConfigError::InvalidValue { key, origin, .. } = &err else { panic!("{err:?}") };
    assert_eq!((key.as_str(), origin.as_str()), ("train.epochs", "--set train.epochs"));
    assert!(shown.contains("--set train.epochs"), "{shown}");
}

#[test]
fn malformed_set() {
    assert!(
        matches!(Override::parse("model.levels"), Err(ConfigError::BadOverride(t)) if t == "model.levels")
    );
}

#[test]
fn unreadable_file() {
    let err = load_experiment(std::path::Path::new("/no/such/dir/x.toml"), None, &[]).unwrap_err();
    assert!(matches!(&err, ConfigError::Read { file, .. } if file == "/no/such/dir/x.toml"), "{err:?}");
    assert!(err.to_string().contains("/no/such/dir/x.toml"));
}

#[test]
fn unknown_sampler() {
    let (err, shown, file) = fail(&with_head("[sample]\nsampler = \"fast\"\n"), None, &[]);
    let ConfigError::InvalidValue { key, origin, message } = &err else { panic!("{err:?}") };
    assert_eq!((key.as_str(), origin.as_str()), ("sample.sampler", file.as_str()));
    assert!(message.contains("fast") && message.contains("cached") && message.contains("naive"), "{message}");
    names(&shown, &file, &["sample.sampler"]);
    let (err, _, _) = fail(HEAD, None, &["sample.sampler=Cached"]);
    assert!(matches!(&err, ConfigError::InvalidValue { key, .. } if key == "sample.sampler"), "{err:?}");
    // Both valid names load, and the default is the cached sampler.
    let case = Case::new(&with_head("[sample]\nsampler = \"naive\"\n"));
    assert_eq!(
        load_experiment(&case.path, None, &[]).unwrap().base.sample.sampler,
        pixelcnn_config::Sampler::Naive
    );
    let case = Case::new(HEAD);
    assert_eq!(
        load_experiment(&case.path, None, &[]).unwrap().base.sample.sampler,
        pixelcnn_config::Sampler::Cached
    );
}

#[test]
fn unknown_model_family() {
    let (err, shown, file) = fail(&with_head("[model]\nfamily = \"pixelsnail\"\n"), None, &[]);
    let ConfigError::InvalidValue { key, origin, message } = &err else { panic!("{err:?}") };
    assert_eq!((key.as_str(), origin.as_str()), ("model.family", file.as_str()));
    assert!(
        message.contains("pixelsnail") && message.contains("pixelcnn") && message.contains("gated"),
        "{message}"
    );
    names(&shown, &file, &["model.family"]);
    let (err, _, _) = fail(HEAD, None, &["model.family=PixelCnn"]);
    assert!(matches!(&err, ConfigError::InvalidValue { key, .. } if key == "model.family"), "{err:?}");
    // Swept, the bad value is named with its axis.
    let (err, shown, file) =
        fail(&with_head("[sweep]\n\"model.family\" = [\"pixelcnn\", \"pixelsnail\"]\n"), None, &[]);
    let ConfigError::SweepValue { key, value, message, .. } = &err else { panic!("{err:?}") };
    assert_eq!((key.as_str(), value.as_str()), ("model.family", "\"pixelsnail\""));
    assert!(message.contains("pixelcnn"), "{message}");
    names(&shown, &file, &["model.family"]);
}

#[test]
fn unknown_launcher_key_names_the_file_and_the_key() {
    let (_, shown, file) = fail(&with_head("[launcher.slurm]\ngpus = 1\n"), None, &[]);
    names(&shown, &file, &["launcher", "gpus"]);
    let (_, shown, file) =
        fail(&with_head("[profile.big.launcher.slurm]\npartition = 3\n"), Some("big"), &[]);
    names(&shown, &file, &["launcher", "partition"]);
}

/// The gated family's keys are checked like the PixelCNN's, and a label condition needs it.
#[test]
fn gated_keys_and_condition_are_checked() {
    let (err, shown, file) = fail(&with_head("[model.gated]\nkernel = 4\n"), None, &[]);
    let ConfigError::InvalidValue { key, message, .. } = &err else { panic!("{err:?}") };
    assert_eq!(key, "model.gated.kernel");
    assert!(message.contains("odd"), "{message}");
    names(&shown, &file, &["model.gated.kernel"]);
    let (err, _, _) = fail(HEAD, None, &["model.gated.layers=0"]);
    assert!(err.to_string().contains("--set model.gated.layers"), "{err}");
    let (err, _, _) = fail(&with_head("[model.gated]\nlayer = 3\n"), None, &[]);
    assert!(err.to_string().contains("did you mean `model.gated.layers`"), "{err}");
    let (err, shown, file) = fail(&with_head("[model]\ncondition = \"label\"\n"), None, &[]);
    let ConfigError::InvalidValue { key, message, .. } = &err else { panic!("{err:?}") };
    assert_eq!(key, "model.condition");
    assert!(message.contains("gated"), "{message}");
    names(&shown, &file, &["model.condition"]);
    let (err, _, _) = fail(&with_head("[model]\ncondition = \"class\"\n"), None, &[]);
    assert!(err.to_string().contains("label") && err.to_string().contains("none"), "{err}");
}

/// A zip group's values are checked together, step by step: a label condition is valid in the step
/// that makes the model gated, and an invalid step names the value that breaks it.
#[test]
fn zip_steps_are_checked_together() {
    let zip = "[sweep.zip.architecture]\n\"model.family\" = [\"pixelcnn\", \"gated\", \"gated\"]\n\
               \"model.condition\" = [\"none\", \"none\", \"label\"]\n";
    let case = Case::new(&with_head(zip));
    let experiment = load_experiment(&case.path, None, &[]).unwrap();
    let architectures: Vec<(&str, &str)> = experiment
        .runs
        .iter()
        .map(|r| (r.config.model.family.as_str(), r.config.model.condition.as_str()))
        .collect();
    assert_eq!(architectures, [("pixelcnn", "none"), ("gated", "none"), ("gated", "label")]);
    let bad = "[sweep.zip.architecture]\n\"model.family\" = [\"pixelcnn\", \"gated\"]\n\
               \"model.condition\" = [\"label\", \"none\"]\n";
    let (err, shown, file) = fail(&with_head(bad), None, &[]);
    let ConfigError::SweepValue { key, value, section, .. } = &err else { panic!("{err:?}") };
    assert_eq!(
        (key.as_str(), value.as_str(), section.as_str()),
        ("model.condition", "\"label\"", "sweep.zip.architecture")
    );
    names(&shown, &file, &["model.condition", "gated"]);
}
