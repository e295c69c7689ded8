//! Sizes a user gives (images to draw, test images to complete, a batch, workers at once) bounded
//! by what this machine can hold, so that an absurd number is refused with the option and the
//! limit instead of aborting in the allocator. The memory a size needs is a lower bound from the
//! model's activations, so that whatever is refused could not have run.

use std::sync::OnceLock;

use crate::run::{ModelConfig, ModelFamily, RunConfig};
use crate::validate::Violation;

/// Images in the MNIST test set: completions beyond it have no image to complete.
pub const TEST_IMAGES: usize = 10_000;

/// What bounds the sizes: this machine's memory and processors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// Physical memory, bytes.
    pub memory_bytes: u64,
    /// Logical processors.
    pub cpus: usize,
}

impl Machine {
    /// This machine, read once per process.
    pub fn this() -> Machine {
        static THIS: OnceLock<Machine> = OnceLock::new();
        *THIS.get_or_init(|| {
            let mut system = sysinfo::System::new();
            system.refresh_memory();
            let cpus = std::thread::available_parallelism().map_or(1, usize::from);
            Machine { memory_bytes: system.total_memory(), cpus }
        })
    }

    fn memory(&self) -> String {
        format!("{:.1} GiB", self.memory_bytes as f64 / f64::from(1u32 << 30))
    }
}

/// Activation channels of one image's forward pass that autograd keeps (every layer's output).
fn activation_channels(model: &ModelConfig) -> u64 {
    let q = model.levels.get() as u64;
    match model.family {
        ModelFamily::PixelCnn => {
            let (h, blocks) = (model.hidden as u64, model.blocks as u64);
            // First conv; per block ReLU, 1x1, ReLU, 3x3, ReLU, 1x1 and the skip's sum; the head's
            // two ReLU + 1x1 pairs and the logits with their softmax.
            2 * h + blocks * (2 * h + 3 * h + h + 2 * h + 2 * h) + 4 * 2 * h + 2 * q
        }
        ModelFamily::Gated => {
            let (c, layers) = (model.gated.channels as u64, model.gated.layers as u64);
            // Vertical and horizontal stacks, each with its doubled gate pre-activations.
            layers * 10 * c + 2 * q
        }
    }
}

/// The widest layer output of the model (channels), and the logits' width `q`.
fn widest_and_levels(model: &ModelConfig) -> (u64, u64) {
    let width = match model.family {
        ModelFamily::PixelCnn => 2 * model.hidden as u64,
        // Both stacks' gate pre-activations.
        ModelFamily::Gated => 4 * model.gated.channels as u64,
    };
    (width, model.levels.get() as u64)
}

/// Bytes one image needs while training, at least: every activation autograd keeps, as f32.
pub fn train_bytes_per_image(model: &ModelConfig) -> u64 {
    activation_channels(model) * 784 * 4
}

/// Bytes one image needs while it is drawn, at least: two of the widest layer's outputs and the
/// logits with their probabilities, as f32 (layers run one after another, nothing kept for
/// gradients).
pub fn sample_bytes_per_image(model: &ModelConfig) -> u64 {
    let (width, q) = widest_and_levels(model);
    (2 * width + 2 * q) * 784 * 4
}

/// The most images of `bytes_each` that fit in `machine`'s memory.
pub fn images_that_fit(bytes_each: u64, machine: &Machine) -> u64 {
    machine.memory_bytes / bytes_each.max(1)
}

/// An error text for `option = value` above `limit`, saying why.
fn too_large(option: &str, value: u64, limit: u64, why: String) -> String {
    format!("{option} = {value} is more than this machine can hold: at most {limit} ({why})")
}

/// Checks a number of images to draw from scratch (`option` names it: `--n`, `sample.count`).
pub fn check_draws(option: &str, count: usize, model: &ModelConfig, machine: &Machine) -> Result<(), String> {
    let each = sample_bytes_per_image(model);
    let limit = images_that_fit(each, machine);
    if count as u64 > limit {
        let why = format!("{:.1} MB each while drawing, {} of memory", each as f64 / 1e6, machine.memory());
        return Err(too_large(option, count as u64, limit, why));
    }
    Ok(())
}

/// Checks a number of test images to complete.
pub fn check_completions(
    option: &str,
    complete: usize,
    model: &ModelConfig,
    machine: &Machine,
) -> Result<(), String> {
    if complete > TEST_IMAGES {
        return Err(format!(
            "{option} = {complete}: the test set has {TEST_IMAGES} images to complete, at most {TEST_IMAGES}"
        ));
    }
    check_draws(option, complete, model, machine)
}

/// Checks a training batch size.
pub fn check_batch(option: &str, batch: usize, model: &ModelConfig, machine: &Machine) -> Result<(), String> {
    let each = train_bytes_per_image(model);
    let limit = images_that_fit(each, machine);
    if batch as u64 > limit {
        let why =
            format!("{:.1} MB per image while training, {} of memory", each as f64 / 1e6, machine.memory());
        return Err(too_large(option, batch as u64, limit, why));
    }
    Ok(())
}

/// Checks `--parallel`, the workers that train at once per device, each holding a batch of the
/// largest of `configs`: no more than there are processors, nor than their batches fit in memory.
pub fn check_parallel(parallel: usize, configs: &[&RunConfig], machine: &Machine) -> Result<(), String> {
    if parallel > machine.cpus {
        return Err(too_large(
            "--parallel",
            parallel as u64,
            machine.cpus as u64,
            "one worker per logical processor; each worker already uses several threads".into(),
        ));
    }
    let per_worker = configs
        .iter()
        .map(|c| train_bytes_per_image(&c.model) * c.train.batch_size as u64)
        .max()
        .unwrap_or(0);
    if per_worker > 0 && parallel as u64 * per_worker > machine.memory_bytes {
        let limit = machine.memory_bytes / per_worker;
        let why = format!(
            "a worker's batch needs {:.1} GB, {} of memory",
            per_worker as f64 / 1e9,
            machine.memory()
        );
        return Err(too_large("--parallel", parallel as u64, limit, why));
    }
    Ok(())
}

/// The sizes of a run configuration that this machine cannot hold.
pub fn size_violations(config: &RunConfig, machine: &Machine) -> Vec<Violation> {
    let (m, t, s) = (&config.model, &config.train, &config.sample);
    [
        ("train.batch_size", check_batch("train.batch_size", t.batch_size, m, machine)),
        ("sample.count", check_draws("sample.count", s.count, m, machine)),
        ("sample.complete", check_completions("sample.complete", s.complete, m, machine)),
    ]
    .into_iter()
    .filter_map(|(key, result)| result.err().map(|message| Violation { key, message }))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;
    const LAPTOP: Machine = Machine { memory_bytes: 16 * GIB, cpus: 8 };

    #[test]
    fn the_seed_recipe_fits_and_absurd_sizes_do_not() {
        let config = RunConfig::default();
        assert!(size_violations(&config, &LAPTOP).is_empty(), "{:?}", size_violations(&config, &LAPTOP));
        let mut huge = config.clone();
        huge.train.batch_size = 1_000_000;
        huge.sample.count = 100_000_000_000;
        huge.sample.complete = 10_001;
        let keys: Vec<&str> = size_violations(&huge, &LAPTOP).iter().map(|v| v.key).collect();
        assert_eq!(keys, ["train.batch_size", "sample.count", "sample.complete"]);
    }

    #[test]
    fn the_limit_is_what_fits_and_is_named() {
        let model = RunConfig::default().model;
        let limit = images_that_fit(sample_bytes_per_image(&model), &LAPTOP);
        assert!(check_draws("--n", limit as usize, &model, &LAPTOP).is_ok());
        let error = check_draws("--n", limit as usize + 1, &model, &LAPTOP).unwrap_err();
        assert!(error.contains("--n") && error.contains(&format!("at most {limit}")), "{error}");
    }

    #[test]
    fn parallel_is_bounded_by_processors_and_memory() {
        let config = RunConfig::default();
        assert!(check_parallel(3, &[&config], &LAPTOP).is_ok());
        assert!(check_parallel(5, &[&config], &LAPTOP).unwrap_err().contains("at most 4"));
        assert!(check_parallel(9, &[&config], &LAPTOP).unwrap_err().contains("at most 8"));
        let small = Machine { memory_bytes: GIB, cpus: 64 };
        let error = check_parallel(64, &[&config], &small).unwrap_err();
        assert!(error.contains("--parallel") && error.contains("GB"), "{error}");
    }
}
