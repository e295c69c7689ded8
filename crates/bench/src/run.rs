//! A whole benchmark run: every measurement in its own process, the PyTorch reference alongside,
//! ratios, the results file and the regenerated Markdown page.

use std::path::{Path, PathBuf};

use pixelcnn_config::Sampler;

use crate::machine::{Machine, Versions, available_cpus, load_average};
use crate::measure::{
    Architecture, Backend, ModelSize, SampleOutcome, SampleSpec, Spec, TrainOutcome, TrainSpec, in_child,
};
use crate::reference::{Layout, Reference, default_python};
use crate::results::{
    PySampleFigure, PyTrainFigure, PytorchFigures, Results, SCHEMA, SampleFigure, Settings, TrainFigure,
    performance_env,
};
use crate::sweep::{self, SweepOutcome, SweepSpec};
use crate::{Group, RunArgs, report};

/// The seed's quantisation levels, compared by the seed notebook.
const LEVELS: [usize; 2] = [2, 256];
/// Seed of every measurement.
const SEED: u64 = 42;

/// The repository this binary was built from.
pub fn default_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Sizes and repetitions of a run.
#[derive(Debug, Clone)]
struct Plan {
    /// The seed's PixelCNN and the gated PixelCNN, in that order.
    models: [Architecture; 2],
    batch: usize,
    warmup: usize,
    steps: usize,
    train_reps: usize,
    sample_images: usize,
    naive_rows: usize,
    pytorch_pixels: usize,
    sample_reps: usize,
    sweep_runs: usize,
    sweep_epochs: usize,
    sweep_reps: usize,
}

impl Plan {
    fn new(args: &RunArgs) -> Self {
        let base = if args.quick {
            // Seconds in all: a 1-block, h = 4 model and a 2-layer gated one of 4 channels, batch 8,
            // one repetition of everything.
            Self {
                models: [
                    Architecture::Pixelcnn { blocks: 1, hidden: 4 },
                    Architecture::Gated { layers: 2, channels: 4, kernel: 3 },
                ],
                batch: 8,
                warmup: 1,
                steps: 2,
                train_reps: 1,
                sample_images: 100,
                naive_rows: 1,
                pytorch_pixels: 4,
                sample_reps: 1,
                sweep_runs: 2,
                sweep_epochs: 1,
                sweep_reps: 1,
            }
        } else {
            // The seed's model and the gated PixelCNN's default size (`[model.gated]`). On a 2-core
            // CPU a q = 256 step takes seconds (libtorch) to tens of seconds (flex) and one naive
            // pixel at batch 100 about a second: about three quarters of an hour.
            Self {
                models: [
                    Architecture::Pixelcnn { blocks: 15, hidden: 64 },
                    Architecture::Gated { layers: 15, channels: 64, kernel: 3 },
                ],
                batch: 128,
                warmup: 2,
                steps: 2,
                train_reps: 5,
                sample_images: 100,
                naive_rows: 1,
                pytorch_pixels: 8,
                sample_reps: 3,
                sweep_runs: 12,
                sweep_epochs: 2,
                sweep_reps: 3,
            }
        };
        Self {
            train_reps: args.reps.unwrap_or(base.train_reps),
            sample_reps: args.reps.map_or(base.sample_reps, |r| r.min(base.sample_reps.max(1))),
            sweep_reps: args.reps.map_or(base.sweep_reps, |r| r.min(base.sweep_reps.max(1))),
            naive_rows: args.sample_rows.unwrap_or(base.naive_rows),
            sweep_runs: args.sweep_runs.unwrap_or(base.sweep_runs),
            ..base
        }
    }

    /// Every network measured: each model at each q, the seed's PixelCNN first.
    fn sizes(&self) -> impl Iterator<Item = ModelSize> + '_ {
        self.models.iter().flat_map(|&architecture| LEVELS.map(|levels| ModelSize { levels, architecture }))
    }

    /// The seed's PixelCNN's size.
    fn seed_model(&self) -> [usize; 2] {
        match self.models[0] {
            Architecture::Pixelcnn { blocks, hidden } => [blocks, hidden],
            Architecture::Gated { .. } => unreachable!("the first model is the seed's"),
        }
    }
}

/// The backends a family's training is measured on: the gated PixelCNN on libtorch only (the
/// backend it is built for; flex takes minutes per full-size step and adds nothing to compare).
fn backends(architecture: Architecture) -> &'static [Backend] {
    match architecture {
        Architecture::Pixelcnn { .. } => &[Backend::LibtorchCpu, Backend::Flex],
        Architecture::Gated { .. } => &[Backend::LibtorchCpu],
    }
}

/// When the run started, for the progress lines.
static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Prints a progress line on stderr, with the seconds since the run started.
macro_rules! progress {
    ($($arg:tt)*) => {
        eprintln!(
            "[bench {:>6.1}s] {}",
            START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64(),
            format!($($arg)*)
        )
    };
}

/// What every measurement of a run shares, and the failures gathered so far (a failed
/// measurement is recorded and the run goes on).
struct Bench {
    plan: Plan,
    threads: usize,
    data: Option<PathBuf>,
    reference: Reference,
    errors: Vec<String>,
}

impl Bench {
    /// Training speed of each model, levels and backend, each in its own process.
    fn train(&mut self) -> Vec<TrainFigure> {
        let (plan, threads) = (&self.plan, self.threads);
        let mut train = Vec::new();
        for size in plan.sizes() {
            let (family, levels) = (size.architecture.family(), size.levels);
            for &backend in backends(size.architecture) {
                if backend == Backend::LibtorchCpu && !cfg!(feature = "tch") {
                    self.errors.push("train libtorch-cpu: this build has no libtorch (feature `tch`)".into());
                    continue;
                }
                let spec = Spec::Train(TrainSpec {
                    backend,
                    model: size,
                    batch: plan.batch,
                    warmup: plan.warmup,
                    steps: plan.steps,
                    reps: plan.train_reps,
                    threads,
                    data: self.data.clone(),
                    seed: SEED,
                });
                let what = format!("train {family} {} q={levels}", backend.label());
                match in_child::<TrainOutcome>(&spec) {
                    Ok(o) => {
                        progress!("{what}: {:.2} images/s", o.images_per_second);
                        train.push(TrainFigure {
                            backend: backend.label().into(),
                            family: family.into(),
                            levels,
                            params: Some(o.params),
                            images_per_second: o.images_per_second,
                            reps: o.reps,
                            setup_seconds: o.setup_seconds,
                            peak_rss_bytes: o.peak_rss_bytes,
                            pytorch_fastest_layout: None,
                            pytorch_fastest_images_per_second: None,
                            speed_vs_pytorch: None,
                        });
                    }
                    Err(e) => self.errors.push(format!("{what}: {e:#}")),
                }
            }
        }
        train
    }

    /// The PyTorch reference's training speed, in each memory layout.
    fn pytorch_train(&mut self, pytorch: &mut PytorchFigures) {
        let plan = &self.plan;
        for size in plan.sizes() {
            let (family, levels) = (size.architecture.family(), size.levels);
            for layout in Layout::ALL {
                let windows = [plan.warmup, plan.steps, plan.train_reps];
                let what = format!("train pytorch {family} {} q={levels}", layout.label());
                match self.reference.train(size, layout, plan.batch, windows) {
                    Ok(figure) => {
                        progress!("{what}: {:.2} images/s", figure.images_per_second);
                        pytorch.train.push(PyTrainFigure { family: family.into(), levels, figure });
                    }
                    Err(e) => self.errors.push(format!("{what}: {e:#}")),
                }
            }
        }
    }

    /// Sampling time of each model, levels and sampler, each in its own process.
    fn sample(&mut self) -> Vec<SampleFigure> {
        let (plan, threads) = (&self.plan, self.threads);
        let mut sample = Vec::new();
        for size in plan.sizes() {
            let (family, levels) = (size.architecture.family(), size.levels);
            for sampler in [Sampler::Naive, Sampler::Cached] {
                let spec = Spec::Sample(SampleSpec {
                    sampler,
                    model: size,
                    images: plan.sample_images,
                    rows: plan.naive_rows,
                    reps: plan.sample_reps,
                    threads,
                    seed: SEED,
                });
                let what = format!("sample {family} {} q={levels}", sampler.as_str());
                match in_child::<SampleOutcome>(&spec) {
                    Ok(o) => {
                        match o.seconds {
                            Some(s) => progress!("{what}: {s:.2} s for {} images", plan.sample_images),
                            None => progress!("{what}: not available in this build"),
                        }
                        sample.push(SampleFigure {
                            sampler,
                            family: family.into(),
                            levels,
                            images: plan.sample_images,
                            outcome: o,
                            pytorch_naive_seconds: None,
                            speed_vs_pytorch: None,
                            speedup_vs_naive: None,
                        });
                    }
                    Err(e) => self.errors.push(format!("{what}: {e:#}")),
                }
            }
        }
        sample
    }

    /// The PyTorch reference's sampling time (extrapolated from a few pixels), in each layout.
    fn pytorch_sample(&mut self, pytorch: &mut PytorchFigures) {
        let plan = &self.plan;
        for size in plan.sizes() {
            let (family, levels) = (size.architecture.family(), size.levels);
            for layout in Layout::ALL {
                let what = format!("sample pytorch {family} {} q={levels}", layout.label());
                match self.reference.sample(
                    size,
                    layout,
                    plan.sample_images,
                    plan.pytorch_pixels,
                    plan.sample_reps,
                ) {
                    Ok(figure) => {
                        progress!("{what}: {:.2} s (extrapolated)", figure.seconds);
                        let images = plan.sample_images;
                        pytorch.sample.push(PySampleFigure { family: family.into(), levels, images, figure });
                    }
                    Err(e) => self.errors.push(format!("{what}: {e:#}")),
                }
            }
        }
    }

    /// A small real sweep through the `pixelcnn` binary: its overhead beside its training.
    fn sweep(&mut self, pixelcnn: PathBuf) -> Option<SweepOutcome> {
        let spec = SweepSpec {
            pixelcnn,
            runs: self.plan.sweep_runs,
            epochs: self.plan.sweep_epochs,
            threads: self.threads,
            data: self.data.clone(),
            reps: self.plan.sweep_reps,
        };
        match sweep::measure(&spec) {
            Ok(o) => {
                progress!(
                    "sweep of {} runs: {:.1} s wall, {:.1} s training, {:.1} s overhead",
                    o.runs,
                    o.wall_seconds,
                    o.epoch_seconds,
                    o.overhead_seconds
                );
                Some(o)
            }
            Err(e) => {
                self.errors.push(format!("sweep: {e:#}"));
                None
            }
        }
    }

    /// The sizes and repetitions the results were measured with.
    fn settings(&self) -> Settings {
        let plan = &self.plan;
        Settings {
            threads: self.threads,
            blocks: plan.seed_model()[0],
            hidden: plan.seed_model()[1],
            gated: Some(plan.models[1].describe()),
            levels: LEVELS.to_vec(),
            batch: plan.batch,
            warmup_steps: plan.warmup,
            steps_per_rep: plan.steps,
            train_reps: plan.train_reps,
            sample_images: plan.sample_images,
            naive_rows: plan.naive_rows,
            pytorch_sample_pixels: plan.pytorch_pixels,
            sample_reps: plan.sample_reps,
            sweep_runs: plan.sweep_runs,
            sweep_reps: plan.sweep_reps,
            data: format!("mnist from {}", self.data.clone().unwrap_or_else(mnist_dir).display()),
            environment: performance_env(),
        }
    }
}

/// Runs the selected measurements, writes the results file and regenerates the page.
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let root = args.root.clone().unwrap_or_else(default_root);
    let out_dir = args.out_dir.clone().unwrap_or_else(|| root.join("bench/results"));
    let doc = args.doc.clone().unwrap_or_else(|| root.join("docs/benchmarks.md"));
    let threads = args.threads.unwrap_or_else(available_cpus);
    let plan = Plan::new(args);
    let wanted = |g: Group| args.only.is_empty() || args.only.contains(&g);
    let started_at = chrono::Utc::now();
    let mut machine = Machine::describe();
    let mut versions = Versions::current(&root);
    let data = args.data.clone();
    progress!(
        "{} mode, {threads} threads, models: {}, load average {}",
        if args.quick { "quick" } else { "full" },
        plan.models.map(|m| format!("{} ({})", m.family(), m.describe())).join(" and "),
        machine.load_at_start.map_or_else(|| "unknown".into(), |l| format!("{l:.2}"))
    );

    let python = args.python.clone().unwrap_or_else(default_python);
    let reference = Reference::new(python, &root, threads, Some(data.clone().unwrap_or_else(mnist_dir)));
    let mut bench = Bench { plan, threads, data, reference, errors: Vec::new() };
    let mut pytorch = PytorchFigures::default();
    if wanted(Group::Pytorch) {
        match bench.reference.info() {
            Ok(info) => versions.pytorch = Some(info),
            Err(e) => bench.errors.push(format!("pytorch info: {e:#}")),
        }
    }
    let mut train = if wanted(Group::Train) { bench.train() } else { Vec::new() };
    if wanted(Group::Pytorch) && wanted(Group::Train) {
        bench.pytorch_train(&mut pytorch);
    }
    let mut sample = if wanted(Group::Sample) { bench.sample() } else { Vec::new() };
    if wanted(Group::Pytorch) && wanted(Group::Sample) {
        bench.pytorch_sample(&mut pytorch);
    }
    let sweep_outcome = if wanted(Group::Sweep) {
        bench.sweep(args.pixelcnn.clone().unwrap_or_else(default_pixelcnn))
    } else {
        None
    };

    add_ratios(&mut train, &mut sample, &pytorch);
    machine.load_at_end = load_average();
    let all_groups = args.only.is_empty()
        || [Group::Train, Group::Sample, Group::Sweep, Group::Pytorch].iter().all(|g| args.only.contains(g));
    let settings = bench.settings();
    let errors = bench.errors;
    let results = Results {
        schema: SCHEMA,
        quick: args.quick,
        complete: all_groups && errors.is_empty(),
        started_at: started_at.to_rfc3339(),
        finished_at: chrono::Utc::now().to_rfc3339(),
        machine,
        versions,
        settings,
        train,
        sample,
        sweep: sweep_outcome,
        pytorch,
        errors,
    };
    let path = results.write(&out_dir)?;
    progress!("results: {}", path.display());
    for e in &results.errors {
        progress!("failed: {e}");
    }
    let used = report::regenerate(&out_dir, &doc, &root)?;
    progress!("{} regenerated from {}", doc.display(), used.display());
    if results.errors.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} measurement(s) failed", results.errors.len())
    }
}

/// Fills in the ratios to the PyTorch reference of the same family (and the cached sampler's
/// speed-up).
fn add_ratios(train: &mut [TrainFigure], sample: &mut [SampleFigure], pytorch: &PytorchFigures) {
    for figure in train.iter_mut() {
        let fastest = pytorch
            .train
            .iter()
            .filter(|p| p.levels == figure.levels && p.family == figure.family)
            .max_by(|a, b| a.figure.images_per_second.total_cmp(&b.figure.images_per_second));
        if let Some(p) = fastest {
            figure.pytorch_fastest_layout = Some(p.figure.layout.label().into());
            figure.pytorch_fastest_images_per_second = Some(p.figure.images_per_second);
            figure.speed_vs_pytorch = Some(figure.images_per_second / p.figure.images_per_second);
        }
    }
    let naive: Vec<(String, usize, Option<f64>)> = sample
        .iter()
        .filter(|s| s.sampler == Sampler::Naive)
        .map(|s| (s.family.clone(), s.levels, s.outcome.seconds))
        .collect();
    for figure in sample.iter_mut() {
        let fastest = pytorch
            .sample
            .iter()
            .filter(|p| p.levels == figure.levels && p.images == figure.images && p.family == figure.family)
            .map(|p| p.figure.seconds)
            .min_by(f64::total_cmp);
        figure.pytorch_naive_seconds = fastest;
        if let (Some(ours), Some(theirs)) = (figure.outcome.seconds, fastest) {
            figure.speed_vs_pytorch = Some(theirs / ours);
        }
        if figure.sampler == Sampler::Cached {
            let ours_naive = naive
                .iter()
                .find(|(family, levels, _)| *family == figure.family && *levels == figure.levels)
                .and_then(|(_, _, s)| *s);
            if let (Some(n), Some(c)) = (ours_naive, figure.outcome.seconds) {
                figure.speedup_vs_naive = Some(n / c);
            }
        }
    }
}

/// The cache's MNIST folder, where the trainer looks by default.
fn mnist_dir() -> PathBuf {
    pixelcnn_data::mnist::default_dir()
}

/// The `pixelcnn` binary next to this one (same target folder and profile).
fn default_pixelcnn() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    // Test binaries live one level down, in deps/.
    let candidates = [dir.join("pixelcnn"), dir.parent().map(|p| p.join("pixelcnn")).unwrap_or_default()];
    candidates.iter().find(|p| p.is_file()).cloned().unwrap_or_else(|| candidates[0].clone())
}
