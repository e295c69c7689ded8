//! The two samplers behind the one [`Sampler`] type that run configurations name
//! (`sample.sampler`, `pixelcnn sample --sampler`): [`Draw`] gives that name its implementation.

use pixelcnn_config::Sampler;
use rand::Rng;

use crate::family::Model;
use crate::{cached_sample, sample};

/// Drawing with the sampler a [`Sampler`] names. Both take the same random numbers in the same
/// order (one `rng.random::<f64>()` per pixel and image, in raster then batch order, through
/// [`draw_level`](crate::draw_level)), so a seed gives the same images with either, except where a
/// draw falls within floating-point rounding of a class boundary.
///
/// [`Sampler::Cached`] is [`cached_sample`]: each layer computed once per pixel from cached
/// activations of earlier pixels (Ramachandran et al., 2017), hundreds of times faster on a
/// full-size model. [`Sampler::Naive`] is [`sample`](mod@crate::sample): the whole network once per
/// pixel, as the seed does, the reference the cached sampler is checked against.
pub trait Draw {
    /// Samples `n` new images of `height x width` pixels from scratch, `[n, height, width]`
    /// row-major, of the classes `labels` (one per image; conditional models): the completion of
    /// blank images from row 0.
    fn sample(self, model: &Model, dims: [usize; 3], labels: Option<&[u8]>, rng: &mut impl Rng) -> Vec<u8>
    where
        Self: Sized,
    {
        let [n, height, width] = dims;
        self.complete(model, &vec![0; n * height * width], labels, dims, 0, rng)
    }

    /// Completes images (of the classes `labels`, for conditional models) whose rows from
    /// `start_row` on are unknown, with the contract (and the panics) of
    /// [`cached_sample::complete`] and [`sample::complete`].
    fn complete(
        self,
        model: &Model,
        images: &[u8],
        labels: Option<&[u8]>,
        dims: [usize; 3],
        start_row: usize,
        rng: &mut impl Rng,
    ) -> Vec<u8>;
}

impl Draw for Sampler {
    fn complete(
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
