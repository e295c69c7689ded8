//! The vocabulary of a run's record, owned here once and used by training (which produces it),
//! the store (which keeps it) and the report (which reads it back).
//!
//! Plain data with serde: no burn, no SQL, so the store and the report stay light. Every closed
//! set of names (a run's status, an artefact kind, a rung metric) is declared once with
//! [`named_enum!`]. Adding a metric is one line in [`metrics`] plus a migration that adds its
//! column to `epochs`. The rung rule of
//! adaptive searches ([`asha`]) lives here too, beside the best-epoch rule: the store applies it,
//! the sweep asks for it, the report shows its decisions.

mod artefact;
pub mod asha;
mod best;
pub mod metrics;
#[doc(hidden)]
pub mod names;
mod retention;
mod status;

pub use artefact::ArtefactKind;
pub use asha::{
    Asha, Budget, Promotion, RungDecision, RungEntry, RungMetric, RungRanking, rank_all_at_rung, rank_at_rung,
};
pub use best::{Best, BestBy, best_epoch};
pub use metrics::{EpochMetrics, bits_per_dim};
pub use retention::Retention;
pub use status::RunStatus;
