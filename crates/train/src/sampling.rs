//! The seed's two sampling demos for a trained model: a grid of images drawn from scratch, and the
//! first test images with their lower rows occluded, completed by the model. Both draw from the
//! run's seeded streams, so the same checkpoint and seed give the same pictures, with either
//! sampler (up to floating-point rounding at class boundaries).

use std::path::Path;

use pixelcnn_config::ConfigError;
use pixelcnn_data::QuantisedSplit;
use pixelcnn_model::{PixelCnn, Sampler, UnknownSampler};

use crate::error::{Result, TrainError};
use crate::images::grid_png;
use crate::observer::{Artefact, ArtefactKind};
use crate::rng::{Stream, stream};

/// Images per row of the sample grid (the seed's 10x10 figure).
const PER_ROW: usize = 10;

/// What to draw, and with which streams.
#[derive(Debug, Clone, Copy)]
pub struct SampleRequest {
    /// Run seed.
    pub seed: u64,
    /// Epoch whose streams to use.
    pub epoch: usize,
    /// Images from scratch (0: none).
    pub count: usize,
    /// Test images to complete (0: none).
    pub complete: usize,
    /// First occluded row.
    pub occlude_from_row: usize,
    /// Which sampler draws (the run configuration's `sample.sampler`; cached by default).
    pub sampler: Sampler,
}

/// Rendered pictures, PNG bytes.
#[derive(Debug, Clone, Default)]
pub struct SampleFiles {
    /// Grid of images from scratch.
    pub samples: Option<Vec<u8>>,
    /// Occluded inputs (top row) above their completions (bottom row).
    pub completion: Option<Vec<u8>>,
}

/// The sampler a run configuration's `sample.sampler` names. Validation already rejects unknown
/// names; this repeats the check for configurations that skipped it (e.g. built in code).
pub fn configured_sampler(name: &str) -> Result<Sampler> {
    name.parse().map_err(|e: UnknownSampler| {
        TrainError::Config(ConfigError::InvalidValue {
            origin: "run configuration".into(),
            key: "sample.sampler".into(),
            message: e.to_string(),
        })
    })
}

impl SampleRequest {
    /// Draws with `model` (an inference copy); `test` supplies the images to complete.
    pub fn run(&self, model: &PixelCnn, test: &QuantisedSplit) -> Result<SampleFiles> {
        let (h, w) = test.shape();
        let q = model.levels;
        let samples = (self.count > 0).then(|| {
            let mut rng = stream(self.seed, Stream::Samples, self.epoch);
            let levels = self.sampler.sample(model, [self.count, h, w], &mut rng);
            grid_png(&levels, [self.count, h, w], q, PER_ROW)
        });
        let n = self.complete.min(test.len());
        let completion = (n > 0).then(|| {
            let originals: Vec<u8> = (0..n).flat_map(|i| test.image(i).iter().copied()).collect();
            let mut rng = stream(self.seed, Stream::Completion, self.epoch);
            let completed =
                self.sampler.complete(model, &originals, [n, h, w], self.occlude_from_row, &mut rng);
            let mut occluded = originals;
            for image in occluded.chunks_mut(h * w) {
                image[self.occlude_from_row * w..].fill(0);
            }
            occluded.extend_from_slice(&completed);
            grid_png(&occluded, [2 * n, h, w], q, n)
        });
        Ok(SampleFiles { samples, completion })
    }
}

impl SampleFiles {
    /// Writes the pictures into `dir` as `samples-epoch-NNNN.png` and `completion-epoch-NNNN.png`.
    pub fn write(&self, dir: &Path, epoch: usize) -> Result<Vec<Artefact>> {
        std::fs::create_dir_all(dir).map_err(|source| TrainError::Io { path: dir.to_owned(), source })?;
        let mut artefacts = Vec::new();
        for (kind, bytes) in
            [(ArtefactKind::Samples, &self.samples), (ArtefactKind::Completion, &self.completion)]
        {
            let Some(bytes) = bytes else { continue };
            let name = match kind {
                ArtefactKind::Samples => "samples",
                _ => "completion",
            };
            let path = dir.join(format!("{name}-epoch-{epoch:04}.png"));
            std::fs::write(&path, bytes).map_err(|source| TrainError::Io { path: path.clone(), source })?;
            artefacts.push(Artefact { kind, epoch, path });
        }
        Ok(artefacts)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use burn::tensor::{Device, Tensor};
    use pixelcnn_config::{DeviceSpec, SampleConfig};
    use pixelcnn_model::PixelCnnConfig;

    use super::*;
    use crate::device;

    /// The devices of this build, one thread each (the test harness runs tests side by side).
    fn devices() -> Vec<Device> {
        let mut specs = Vec::new();
        if cfg!(feature = "tch") {
            specs.push(DeviceSpec::Cpu);
        }
        if cfg!(feature = "flex") {
            specs.push(DeviceSpec::Flex);
        }
        specs.into_iter().map(|spec| device::select(spec, 1).expect("device").device).collect()
    }

    /// On every backend of the build, the cached sampler draws the naive sampler's images.
    #[test]
    fn samplers_agree_on_every_backend() {
        for device in devices() {
            // Fixed weights (drawn lazily from the backend's seeded generator), so the draws are
            // the same on every run.
            device.seed(7);
            let model = PixelCnnConfig::new(4).with_blocks(2).with_hidden(4).init(&device);
            let dims = [3, 7, 6];
            for seed in 0..2 {
                let rng = || stream(seed, Stream::Samples, 1);
                let naive = Sampler::Naive.sample(&model, dims, &mut rng());
                assert_eq!(Sampler::Cached.sample(&model, dims, &mut rng()), naive, "{device:?} seed {seed}");
                let naive = Sampler::Naive.complete(&model, &naive, dims, 3, &mut rng());
                let cached = Sampler::Cached.complete(&model, &naive, dims, 3, &mut rng());
                assert_eq!(cached, naive, "{device:?} seed {seed}, completion");
            }
        }
    }

    /// Wall-clock and CPU seconds (user + system, all threads; Linux only, else NaN) of `f`. CPU
    /// time stays meaningful on a machine that other jobs share, at least with one thread.
    fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
        fn cpu_seconds() -> f64 {
            let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return f64::NAN };
            // Fields after the command name (which ends with ')'): utime and stime are the 12th
            // and 13th, in clock ticks of 1/100 s on Linux.
            let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
            let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(f64::NAN);
            (ticks(11) + ticks(12)) / 100.0
        }
        let (wall, cpu) = (Instant::now(), cpu_seconds());
        let out = f();
        (out, wall.elapsed().as_secs_f64(), cpu_seconds() - cpu)
    }

    /// Times both samplers on the seed's model (15 blocks, h = 64) at batch 100 on libtorch CPU,
    /// with the trainer's default threads (one per core; `SAMPLER_SPEED_THREADS=N` to change). The
    /// naive sampler's cost per pixel is constant, so it is timed over the last row (28 pixels)
    /// and scaled to 784. Not a timed test: run by hand with
    /// `cargo test -p pixelcnn-train --lib sampler_speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement of minutes, run by hand"]
    fn sampler_speed_on_the_seed_model() {
        if !cfg!(feature = "tch") {
            return;
        }
        let threads =
            std::env::var("SAMPLER_SPEED_THREADS").map_or(0, |t| t.parse().expect("a thread count"));
        let selected = device::select(DeviceSpec::Cpu, threads).expect("libtorch CPU");
        let (n, h, w) = (100, 28, 28);
        let scale = (h * w) as f64 / w as f64;
        for q in [2, 256] {
            let model = PixelCnnConfig::new(q).init(&selected.device);
            // Warm up at full size: lazy parameter initialisation, allocator, oneDNN primitives.
            model.forward(Tensor::<4>::zeros([n, 1, h, w], &selected.device)).into_data();
            Sampler::Cached.sample(&model, [n, 2, w], &mut stream(1, Stream::Samples, 0));

            let rng = |seed| stream(seed, Stream::Samples, 0);
            let (images, cached_s, cached_cpu) =
                timed(|| Sampler::Cached.sample(&model, [n, h, w], &mut rng(1)));
            let (naive_row, naive_s, naive_cpu) =
                timed(|| Sampler::Naive.complete(&model, &images, [n, h, w], h - 1, &mut rng(2)));
            let cached_row = Sampler::Cached.complete(&model, &images, [n, h, w], h - 1, &mut rng(2));
            let differing = naive_row.iter().zip(&cached_row).filter(|(a, b)| a != b).count();
            eprintln!(
                "{} ({} threads), q={q}, batch {n}, 784 pixels: cached {cached_s:.2} s (CPU {cached_cpu:.2} s); \
                 naive {:.0} s (CPU {:.0} s), scaled from {naive_s:.1} s for the last row; speed-up {:.0}x \
                 (CPU {:.0}x); last-row completions differing between the samplers: {differing} of {} pixels",
                selected.info.name,
                selected.info.threads,
                naive_s * scale,
                naive_cpu * scale,
                naive_s * scale / cached_s,
                naive_cpu * scale / cached_cpu,
                n * w,
            );
        }
    }

    /// Every name the configuration accepts is a sampler, the configuration's default is the
    /// model crate's default, and anything else is a configuration error naming the key.
    #[test]
    fn configured_samplers_match_the_model_crate() {
        for name in SampleConfig::SAMPLERS {
            assert_eq!(configured_sampler(name).unwrap().name(), *name);
        }
        assert_eq!(configured_sampler(&SampleConfig::default().sampler).unwrap(), Sampler::default());
        let err = configured_sampler("fast").unwrap_err();
        assert!(err.to_string().contains("sample.sampler"), "{err}");
    }
}
