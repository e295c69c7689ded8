//! Sweep axes of an experiment file: reading a `[sweep]` table (grid keys, the `seeds` replicate
//! axis, zip groups, numeric ranges), letting a profile and the higher layers replace axes, and
//! expanding the axes into runs.
//!
//! One file a job: `positions` (where keys were written), `axis` (entries and axes), `expand`
//! (runs, and the checks on them), `sample` (the trials of a random search), `grammar` (reading a
//! sweep table) and `profile` (the layers replacing axes).

mod axis;
mod expand;
mod grammar;
mod positions;
mod profile;
mod sample;

pub(crate) use axis::Entry;
pub use axis::{Axis, AxisKind, Scale};
pub(crate) use expand::{Expanded, check_zip_lengths, expand};
pub use expand::{MAX_RUNS, PlannedRun};
pub(crate) use grammar::Reader;
pub(crate) use positions::positions;
pub(crate) use profile::{apply_profile, fix_key};
pub use sample::Trials;
