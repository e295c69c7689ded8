//! The two samplers behind one type (the run configuration's `sample.sampler` names them; the
//! names live with the configuration).

use rand::Rng;

use crate::family::Model;
use crate::{cached_sample, sample};

/// Which sampler draws images. Both take the same random numbers in the same order (one
/// `rng.random::<f64>()` per pixel and image, in raster then batch order, through
/// [`draw_level`](crate::draw_level)), so a seed gives the same images with either, except where a
/// draw falls within floating-point rounding of a class boundary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Sampler {
    /// [`cached_sample`]: each layer computed once per pixel from cached activations of earlier
    /// pixels (Ramachandran et al., 2017); hundreds of times faster on a full-size model. The default.
    #[default]
    Cached,
    /// [`sample`](mod@crate::sample): the whole network once per pixel, as the seed does; kept as
    /// the reference the cached sampler is checked against.
    Naive,
}

impl Sampler {
    /// Samples `n` new images of `height x width` pixels from scratch, `[n, height, width]`
    /// row-major, of the classes `labels` (one per image; conditional models); see
    /// [`cached_sample::sample`] and [`sample::sample`].
    pub fn sample(
        self,
        model: &Model,
        dims: [usize; 3],
        labels: Option<&[u8]>,
        rng: &mut impl Rng,
    ) -> Vec<u8> {
        match self {
            Sampler::Cached => cached_sample::sample(model, dims, labels, rng),
            Sampler::Naive => sample::sample(model, dims, labels, rng),
        }
    }

    /// Completes images (of the classes `labels`, for conditional models) whose rows from
    /// `start_row` on are unknown; see [`cached_sample::complete`] and [`sample::complete`].
    ///
    /// # Panics
    /// If `images` does not have `n * height * width` levels, a level is `>= q`, `start_row > height`,
    /// a conditional model lacks a label below its number of classes for each image, or the
    /// logits cannot be read back from the device.
    pub fn complete(
        self,
        model: &Model,
        images: &[u8],
        labels: Option<&[u8]>,
        dims: [usize; 3],
        start_row: usize,
        rng: &mut impl Rng,
    ) -> Vec<u8> {
        match self {
            Sampler::Cached => cached_sample::complete(model, images, labels, dims, start_row, rng),
            Sampler::Naive => sample::complete(model, images, labels, dims, start_row, rng),
        }
    }
}
