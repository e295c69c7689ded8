//! Configuration errors. Each names where the bad value came from (a file, `--set`, the environment)
//! and the key, so the user knows what to edit.

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {file}: {message}")]
    Read {
        /// File that failed.
        file: String,
        /// Reason.
        message: String,
    },
    /// The file is not valid TOML.
    #[error("{file}:{line}:{column}: TOML syntax error: {message}")]
    Syntax {
        /// File that failed.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// A key that no configuration section has.
    #[error("{origin}: unknown key `{key}`{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownKey {
        /// File, `--set` or environment that holds the key.
        origin: String,
        /// Full dotted key.
        key: String,
        /// The closest valid key, when one is close.
        suggestion: Option<String>,
    },
    /// A key whose value has the wrong type or lies outside its allowed range.
    #[error("{origin}: invalid value for `{key}`: {message}")]
    InvalidValue {
        /// File, `--set` or environment that holds the value.
        origin: String,
        /// Full dotted key.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A key the file must have and does not, such as `[experiment] name`.
    #[error("{origin}: missing required key `{key}` ({hint})")]
    MissingKey {
        /// File that lacks the key.
        origin: String,
        /// Full dotted key.
        key: String,
        /// What to add, e.g. `add [experiment] name = "levels"`.
        hint: String,
    },
    /// A sweep entry that cannot be expanded: not a list, a bad range, a key swept twice, a
    /// repeated value.
    #[error("{file}: [{section}] {key}: {message}")]
    BadSweep {
        /// Experiment file.
        file: String,
        /// Table that holds the entry, e.g. `sweep`, `sweep.zip.schedule`, `profile.quick.sweep`.
        section: String,
        /// Dotted key of the axis (or `seeds`, or the zip group).
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A sweep axis without values: it would expand to no run at all.
    #[error("{file}: [{section}] {key}: the sweep axis is empty; give at least one value")]
    EmptyAxis {
        /// Experiment file.
        file: String,
        /// Table that holds the axis.
        section: String,
        /// Dotted key of the axis (or `seeds`).
        key: String,
    },
    /// One value of a sweep axis that has the wrong type or lies outside its allowed range.
    #[error("{file}: [{section}] {key} = {value}: {message}")]
    SweepValue {
        /// Experiment file.
        file: String,
        /// Table that holds the axis.
        section: String,
        /// Dotted key of the axis (`seed` for the `seeds` axis).
        key: String,
        /// The offending value, as TOML.
        value: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// The members of a zip group have different numbers of values, so they cannot move together.
    #[error("{file}: [{section}] zip group `{group}` needs lists of equal length, got {}",
        lengths.iter().map(|(k, n)| format!("{k}: {n}")).collect::<Vec<_>>().join(", "))]
    ZipLengths {
        /// Experiment file.
        file: String,
        /// Table of the group, e.g. `sweep.zip.schedule`.
        section: String,
        /// Name of the group.
        group: String,
        /// Each member's key and number of values.
        lengths: Vec<(String, usize)>,
    },
    /// `--profile` names a profile the file does not define.
    #[error("{file}: no profile `{name}`; {}", if available.is_empty() {
        "the file defines none".to_owned()
    } else {
        format!("available: {}", available.join(", "))
    })]
    UnknownProfile {
        /// Experiment file.
        file: String,
        /// The requested profile.
        name: String,
        /// The profiles the file defines.
        available: Vec<String>,
    },
    /// A `--set` argument that is not `key=value`.
    #[error("--set {0}: expected key=value, e.g. --set train.epochs=2")]
    BadOverride(String),
}

/// Result alias of the config crate.
pub type Result<T, E = ConfigError> = std::result::Result<T, E>;
