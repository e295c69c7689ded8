//! `sample.sampler`: which sampler draws a run's pictures.

pixelcnn_record::named_enum! {
    /// The sampler a configuration (or `pixelcnn sample --sampler`) names. Both draw the same
    /// images for a seed, up to floating-point rounding at class boundaries.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
    pub enum Sampler ("sampler") {
        /// `cached`: each layer computed once per pixel from cached activations, hundreds of
        /// times faster on a full-size model. The default.
        #[default]
        Cached = "cached",
        /// `naive`: the whole network once per pixel, as the seed does; the reference.
        Naive = "naive",
    }
}
