//! Random streams of a run, all derived from the run seed. Each is keyed by what it is for and the
//! epoch, never by a position in a shared stream, so that a resumed run draws exactly what the
//! uninterrupted one would have. (Parameter initialisation uses the backend's generator, seeded
//! with the run seed before the model is built; shuffling lives in the data crate.)

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What a stream is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Images drawn from scratch after an epoch.
    Samples,
    /// Completions of occluded test images after an epoch.
    Completion,
}

/// The generator of one stream at one epoch.
pub fn stream(seed: u64, kind: Stream, epoch: usize) -> ChaCha8Rng {
    // Shuffling uses streams 0..epochs of the same seed; sampling streams start far above.
    let base: u64 = match kind {
        Stream::Samples => 1 << 40,
        Stream::Completion => 2 << 40,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(base + epoch as u64);
    rng
}
