//! Errors at the report crate's border: each names what it was about (experiment, run, file).

use std::path::PathBuf;

/// Why a report could not be built or written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading the results store failed.
    #[error(transparent)]
    Store(#[from] pixelcnn_store::StoreError),
    /// No experiment of that name is recorded.
    #[error("no experiment named {name:?} in the database (recorded: {known})")]
    UnknownExperiment {
        /// The name asked for.
        name: String,
        /// The names that exist, comma-separated (or "none").
        known: String,
    },
    /// A stored run's configuration is not one this version reads (written by a newer version,
    /// or edited by hand).
    #[error("run {run}: its stored configuration cannot be read: {message}")]
    RunConfig {
        /// The run's id.
        run: String,
        /// What serde found wrong, naming the key.
        message: String,
    },
    /// The runs given cannot be compared (too few, too many, one twice).
    #[error("compare: {message}")]
    Comparison {
        /// What is wrong with the list.
        message: String,
    },
    /// A template failed to render (a bug in the report crate, never in the data).
    #[error("rendering {template}: {source}")]
    Template {
        /// Template name.
        template: String,
        /// What went wrong.
        #[source]
        source: minijinja::Error,
    },
    /// A plot failed to draw.
    #[error("drawing the plot {name}: {message}")]
    Plot {
        /// Plot name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// Writing an output file failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// A file name would leave the output folder (never expected: names are built from indexes).
    #[error("refusing to write {name:?}: file names must stay inside the output folder")]
    UnsafeName {
        /// The refused name.
        name: String,
    },
}

/// Results of this crate.
pub type Result<T, E = ReportError> = std::result::Result<T, E>;
