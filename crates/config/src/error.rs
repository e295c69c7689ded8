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
    /// A `--set` argument that is not `key=value`.
    #[error("--set {0}: expected key=value, e.g. --set train.epochs=2")]
    BadOverride(String),
}

/// Result alias of the config crate.
pub type Result<T, E = ConfigError> = std::result::Result<T, E>;
