//! Run configuration of pixelcnn-lab.
//!
//! The seed notebook's recipe is the default of every key; files, the environment and `--set`
//! layer over it with figment, and every value is checked before anything runs. An experiment file
//! adds a name, sweep axes, a search strategy and profiles on top of one run's keys (see
//! `experiments/README.md`).

mod device;
mod dotted_keys;
mod error;
mod experiment;
mod hash;
mod identity;
mod launcher;
mod layers;
mod levels;
pub mod limits;
mod run;
mod sampler;
mod search;
mod sweep;
mod validate;

pub use device::DeviceSpec;
pub use dotted_keys::{Nested, flatten};
pub use error::{ConfigError, Result};
pub use experiment::{Experiment, load_experiment, safe_name};
pub use hash::config_hash;
pub use identity::{
    ADDED_KEYS, EXCLUDED_KEYS, family_keys, first_identity_difference, identity_of, numeric_identity,
};
pub use launcher::{LauncherConfig, SlurmConfig};
pub use layers::{ENV_PREFIX, Override, extract, figment, read_toml, resolve_run};
pub use levels::Levels;
pub use run::{
    Condition, DataConfig, GatedKeys, LABEL_CLASSES, ModelConfig, ModelFamily, RunConfig, SampleConfig,
    TrainConfig,
};
pub use sampler::Sampler;
pub use search::{DEFAULT_TRIALS_SEED, Search, Strategy};
pub use sweep::{Axis, AxisKind, MAX_RUNS, PlannedRun, Scale, Trials};
pub use validate::{Violation, violations};
