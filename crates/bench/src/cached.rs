//! The one place the cached sampler is wired in: `pixelcnn_model::Sampler::Cached` (issue 7,
//! part 3), the same call as `pixelcnn_model::sample::sample` for the naive one.

use pixelcnn_model::{PixelCnn, Sampler};
use rand::Rng;

/// Whether this build has a cached sampler (false makes the results say "not in this build").
pub const AVAILABLE: bool = true;

/// Draws `dims[0]` images of `dims[1] x dims[2]` pixels with the cached sampler, or `None` when
/// this build has none.
pub fn sample(model: &PixelCnn, dims: [usize; 3], rng: &mut impl Rng) -> Option<Vec<u8>> {
    Some(Sampler::Cached.sample(model, dims, rng))
}
