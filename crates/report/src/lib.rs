//! Reports of pixelcnn-lab: what a researcher puts in front of a colleague after a sweep.
//!
//! The crate reads the results store and nothing else (no checkpoints, no experiment files, no
//! training code), so a report can be made on any machine that has the database, also while a
//! sweep still writes to it. [`Report`] turns an experiment's runs into a self-contained HTML page
//! (plots as inline SVG, pictures as data URIs) and a Markdown version with the files it links;
//! [`Comparison`] does the same for any few runs.

mod compare;
mod configs;
mod curves;
mod error;
mod families;
mod figures;
mod load;
mod output;
mod reference;
mod render;
mod rungs;
mod stats;
mod summary;
mod view;

pub use compare::{Comparison, MAX_COMPARED};
pub use configs::{Configuration, differing_keys, display, flatten, group as configurations};
pub use error::{ReportError, Result};
pub use families::FamilyView;
pub use load::{ExperimentData, Picture, RunData};
pub use output::Written;
pub use rungs::{RungRowView, RungsView};
pub use stats::Spread;
pub use summary::SummaryRow;
pub use view::{Note, Report, ReportView};
