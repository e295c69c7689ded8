//! Where a training step of the seed PixelCNN spends its time on libtorch CPU (issue 7, part 4),
//! and of the gated PixelCNN (`--gated`, section `step`; issue 15).
//!
//! ```sh
//! cargo run --release -p pixelcnn-bench --example profile_step -- --threads 1 --section all
//! cargo run --release -p pixelcnn-bench --example profile_step -- --threads 1 --section step --gated
//! ```
//!
//! Sections:
//!
//! - `step`: the trainer's step (the same pieces as `pixelcnn_train::Trainer`: forward, mean NLL,
//!   backward, gradients, global-norm clipping, Keras Adam, a loss read), each phase timed. libtorch
//!   on the CPU runs every op synchronously, so wall time around a call is that call's cost.
//! - `ops`: every convolution shape of the model at the training batch, through burn (forward, the
//!   mask product, burn's backward as burn-autodiff computes it: `conv_transpose2d` for the input
//!   gradient, a convolution of the batch-swapped tensors for the weight gradient, a sum for the
//!   bias) against libtorch's own backward (`ConvolutionBackward0` via tch autograd), in NCHW and
//!   channels-last, and against candidate replacements (input gradient as a plain convolution with
//!   the flipped kernel; 1x1 weight gradient as one matrix product; 3x3 mask-B convolution as a
//!   2x3 kernel, 6 of 9 taps).
//! - `loss`: log-softmax, gather and their backward at q levels.
//! - `elementwise`: the ReLUs and residual additions around the convolutions, burn's backward
//!   against libtorch's fused one.
//! - `candidates`: the 3x3 mask-B convolution and the 1x1 convolutions against matrix-product
//!   formulations over the taps mask B keeps, in NCHW and NHWC.
//! - `all` (the default): every section above, in that order.
//!
//! Times are medians over `--reps` calls after one warm-up call, in milliseconds; `per step` scales
//! by how many layers of that shape a step has (15 of each block convolution).

use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::activation::log_softmax;
use burn::tensor::module::{conv_transpose2d, conv2d, conv2d_weight_backward};
use burn::tensor::ops::PadMode;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use clap::{Parser, ValueEnum};
use pixelcnn_model::mask::mask_tensor;
use pixelcnn_model::{MaskType, ModelConfig, nll_per_pixel};
use pixelcnn_train::optim::{KerasAdam, clip_global_norm};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Kind, Tensor as TchTensor};

/// Profiles the seed model's training step on libtorch CPU.
#[derive(Debug, Parser)]
struct Args {
    /// Intra-op threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Quantisation levels q.
    #[arg(long, default_value_t = 256)]
    levels: usize,
    /// Batch.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Residual blocks.
    #[arg(long, default_value_t = 15)]
    blocks: usize,
    /// h.
    #[arg(long, default_value_t = 64)]
    hidden: usize,
    /// Timed repetitions (medians are printed).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Profile the gated PixelCNN's step (`[model.gated]` sizes below) instead of the seed's.
    #[arg(long)]
    gated: bool,
    /// Gated layers.
    #[arg(long, default_value_t = 15)]
    layers: usize,
    /// Gated channels.
    #[arg(long, default_value_t = 64)]
    channels: usize,
    /// Gated kernel size.
    #[arg(long, default_value_t = 3)]
    kernel: usize,
    /// What to profile.
    #[arg(long, value_enum, default_value_t = Section::All)]
    section: Section,
}

impl Args {
    /// The run configuration's `[model]` these flags describe, built into a network as training
    /// builds it.
    fn model(&self) -> pixelcnn_config::ModelConfig {
        let levels = pixelcnn_config::Levels::new(self.levels).expect("--levels in 2..=256");
        let mut model = pixelcnn_config::ModelConfig {
            levels,
            blocks: self.blocks,
            hidden: self.hidden,
            ..Default::default()
        };
        if self.gated {
            model.family = pixelcnn_config::ModelFamily::Gated;
            model.gated = pixelcnn_config::GatedKeys {
                layers: self.layers,
                channels: self.channels,
                kernel: self.kernel,
            };
        }
        model
    }
}

/// The sections of the profile (the module documentation says what each measures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Section {
    /// The trainer's step, phase by phase.
    Step,
    /// Every convolution shape, forward and backward, against libtorch's own.
    Ops,
    /// The loss and its backward.
    Loss,
    /// ReLUs and residual additions.
    Elementwise,
    /// Matrix-product formulations of the masked convolutions.
    Candidates,
    /// Every section.
    All,
}

/// One section's profiler.
type Profiler = fn(&Args, &Device);

const SIDE: usize = 28;

fn main() {
    let args = Args::parse();
    tch::set_num_threads(i32::try_from(args.threads).unwrap_or(1));
    CPU_TIME.store(args.threads == 1, std::sync::atomic::Ordering::Relaxed);
    #[allow(deprecated)] // burn 0.22 marks its libtorch device deprecated; it is our main backend
    let device = Device::libtorch();
    let model = if args.gated {
        format!("gated PixelCNN, {} layers, {} channels, kernel {}", args.layers, args.channels, args.kernel)
    } else {
        format!("{} blocks, h = {}", args.blocks, args.hidden)
    };
    println!(
        "# libtorch CPU, {} thread(s), q = {}, batch {}, {model}, medians of {} reps ({} ms)",
        args.threads,
        args.levels,
        args.batch,
        args.reps,
        if args.threads == 1 { "thread CPU" } else { "wall" }
    );
    let sections: [(Section, Profiler); 5] = [
        (Section::Step, step),
        (Section::Ops, ops),
        (Section::Loss, loss),
        (Section::Elementwise, elementwise),
        (Section::Candidates, candidates),
    ];
    for (section, profile) in sections {
        if args.section == Section::All || args.section == section {
            profile(&args, &device);
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// A point in time: wall clock and, with one libtorch thread, this thread's time on a CPU.
#[derive(Clone, Copy)]
struct Stamp {
    wall: Instant,
    cpu_ns: Option<u64>,
}

thread_local! {
    /// The last backward of `(y * g).sum()` without a convolution (what `native_backward_ms` subtracts).
    static OVERHEAD_MS: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// Whether phases are measured in this thread's CPU time (set from `--threads 1`): with one
/// intra-op thread libtorch computes on the calling thread, and CPU time does not count the time
/// other processes of a busy machine hold the core.
static CPU_TIME: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Stamp {
    fn now() -> Self {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        let cpu_ns = u64::try_from(t.tv_sec)
            .ok()
            .zip(u64::try_from(t.tv_nsec).ok())
            .map(|(s, n)| s * 1_000_000_000 + n);
        Self { wall: Instant::now(), cpu_ns }
    }

    /// Milliseconds from `self` to `later`: CPU time when enabled and available, else wall time.
    fn ms_to(self, later: Stamp) -> f64 {
        match (CPU_TIME.load(std::sync::atomic::Ordering::Relaxed), self.cpu_ns, later.cpu_ns) {
            (true, Some(a), Some(b)) => (b.saturating_sub(a)) as f64 / 1e6,
            _ => later.wall.duration_since(self.wall).as_secs_f64() * 1e3,
        }
    }
}

/// Median milliseconds of `f` over `reps` calls after one warm-up call.
fn time_ms<T>(reps: usize, mut f: impl FnMut() -> T) -> f64 {
    drop(f());
    median(
        (0..reps.max(1))
            .map(|_| {
                let t = Stamp::now();
                let out = f();
                let ms = t.ms_to(Stamp::now());
                drop(out);
                ms
            })
            .collect(),
    )
}

/// A training batch of random levels, built the way `QuantisedSplit::batch` builds one.
fn batch(args: &Args, rng: &mut ChaCha8Rng, device: &Device) -> (Tensor<4>, Tensor<3, Int>) {
    let n = args.batch * SIDE * SIDE;
    let q = args.levels;
    let levels: Vec<u8> = (0..n).map(|_| rng.random_range(0..q) as u8).collect();
    let top = (q - 1) as f32;
    let inputs: Vec<f32> = levels.iter().map(|&l| f32::from(l) / top).collect();
    let targets: Vec<i64> = levels.iter().map(|&l| i64::from(l)).collect();
    (
        Tensor::from_data(TensorData::new(inputs, [args.batch, 1, SIDE, SIDE]), device),
        Tensor::from_data(TensorData::new(targets, [args.batch, SIDE, SIDE]), device),
    )
}

fn step(args: &Args, device: &Device) {
    let train_device = device.clone().autodiff();
    train_device.seed(42);
    let mut model = ModelConfig::from(&args.model()).init(&train_device);
    let mut optimizer = KerasAdam::module_optimizer(0.9, 0.999, 1e-7);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let names = ["batch", "forward", "loss", "backward", "grads", "clip", "adam", "read"];
    let mut phases: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut lr = 1e-3;
    for step in 0..=args.reps {
        let mut stamps = vec![Stamp::now()];
        let (inputs, targets) = batch(args, &mut rng, &train_device);
        stamps.push(Stamp::now());
        let logits = model.forward(inputs, None);
        stamps.push(Stamp::now());
        let loss = nll_per_pixel(logits, targets);
        stamps.push(Stamp::now());
        let grads = loss.backward();
        stamps.push(Stamp::now());
        let grads = GradientsParams::from_grads(grads, &model);
        stamps.push(Stamp::now());
        let (grads, _norm) = clip_global_norm(grads, &model, 1.0);
        stamps.push(Stamp::now());
        lr *= 0.999_995;
        model = optimizer.step(lr, model, grads);
        stamps.push(Stamp::now());
        let value = loss.into_scalar::<f64>();
        stamps.push(Stamp::now());
        assert!(value.is_finite());
        if step > 0 {
            for (i, w) in stamps.windows(2).enumerate() {
                phases[i].push(w[0].ms_to(w[1]));
            }
        }
    }
    let medians: Vec<f64> = phases.into_iter().map(median).collect();
    let total: f64 = medians.iter().sum();
    println!("\n## step (the trainer's pieces), {} parameters", model.num_params());
    println!("{:<10} {:>10} {:>7}", "phase", "ms", "share");
    for (name, ms) in names.iter().zip(&medians) {
        println!("{name:<10} {ms:>10.1} {:>6.1}%", 100.0 * ms / total);
    }
    println!("{:<10} {total:>10.1}  => {:.2} images/s", "total", args.batch as f64 / (total / 1e3));
}

/// One convolution shape of the model.
struct Layer {
    name: &'static str,
    cin: usize,
    cout: usize,
    k: usize,
    mask: Option<MaskType>,
    per_step: usize,
    input_grad: bool,
}

fn layers(args: &Args) -> Vec<Layer> {
    let h = args.hidden;
    let s = 2 * h;
    let n = args.blocks;
    vec![
        Layer {
            name: "input 7x7 A 1->2h",
            cin: 1,
            cout: s,
            k: 7,
            mask: Some(MaskType::A),
            per_step: 1,
            input_grad: false,
        },
        Layer { name: "block 1x1 2h->h", cin: s, cout: h, k: 1, mask: None, per_step: n, input_grad: true },
        Layer {
            name: "block 3x3 B h->h",
            cin: h,
            cout: h,
            k: 3,
            mask: Some(MaskType::B),
            per_step: n,
            input_grad: true,
        },
        Layer { name: "block 1x1 h->2h", cin: h, cout: s, k: 1, mask: None, per_step: n, input_grad: true },
        Layer { name: "head 1x1 2h->2h", cin: s, cout: s, k: 1, mask: None, per_step: 1, input_grad: true },
        Layer {
            name: "head 1x1 2h->q",
            cin: s,
            cout: args.levels,
            k: 1,
            mask: None,
            per_step: 1,
            input_grad: true,
        },
    ]
}

/// A tch tensor with the values of a burn tensor (contiguous NCHW).
fn to_tch(t: &Tensor<4>) -> TchTensor {
    let dims: Vec<i64> = t.dims().iter().map(|&d| d as i64).collect();
    let values = t.clone().try_into_vec_as::<f32>().expect("f32 values");
    TchTensor::from_slice(&values).reshape(dims)
}

/// The same values with channels-last strides (NHWC in memory), which libtorch recognises.
fn channels_last(t: &TchTensor) -> TchTensor {
    t.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// libtorch's own backward of `conv2d(x, w * mask, b)` for the output gradient `g` (tch autograd,
/// `ConvolutionBackward0`), in ms: the time of `(y * g).sum()`'s backward minus that of the same
/// product and sum without the convolution.
#[allow(clippy::too_many_arguments)] // one convolution's tensors and options, named
fn native_backward_ms(
    reps: usize,
    x: &TchTensor,
    w: &TchTensor,
    mask: &TchTensor,
    b: &TchTensor,
    g: &TchTensor,
    p: i64,
    input_grad: bool,
) -> f64 {
    let measure = |with_conv: bool| {
        let mut v = Vec::new();
        for i in 0..=reps.max(1) {
            let xg = x.detach().set_requires_grad(input_grad);
            let wg = w.detach().set_requires_grad(true);
            let bg = b.detach().set_requires_grad(true);
            let y = if with_conv {
                xg.conv2d(&(&wg * mask), Some(&bg), [1, 1], [p, p], [1, 1], 1)
            } else {
                g.detach().set_requires_grad(true)
            };
            let s = (&y * g).sum(Kind::Float);
            let inputs: Vec<&TchTensor> = if !with_conv {
                vec![&y]
            } else if input_grad {
                vec![&xg, &wg, &bg]
            } else {
                vec![&wg, &bg]
            };
            let t = Stamp::now();
            let grads = TchTensor::run_backward(&[&s], &inputs, false, false);
            let ms = t.ms_to(Stamp::now());
            drop(grads);
            if i > 0 {
                v.push(ms);
            }
        }
        median(v)
    };
    let overhead = measure(false);
    OVERHEAD_MS.with(|o| o.set(overhead));
    (measure(true) - overhead).max(0.0)
}

fn ops(args: &Args, device: &Device) {
    let reps = args.reps;
    let b = args.batch;
    println!("\n## convolutions at batch {b}, 28x28 (ms per call; per step = x layers per step)");
    println!(
        "{:<20} {:>5} | {:>8} {:>6} {:>9} {:>9} {:>7} {:>9} | {:>8} {:>9} {:>8} {:>9} | {:>9} {:>9} {:>9}",
        "layer",
        "count",
        "fwd",
        "mask",
        "dx:convT",
        "dw:swap",
        "db",
        "burn-bwd",
        "tch fwd",
        "tch bwd",
        "CL fwd",
        "CL bwd",
        "dx:conv",
        "dw:matmul",
        "2x3 fwd"
    );
    let mut totals = [0.0f64; 6];
    let mut slow = Vec::new();
    for layer in layers(args) {
        let p = layer.k / 2;
        let x = Tensor::<4>::random([b, layer.cin, SIDE, SIDE], Distribution::Default, device);
        let g = Tensor::<4>::random([b, layer.cout, SIDE, SIDE], Distribution::Default, device);
        let w = Tensor::<4>::random(
            [layer.cout, layer.cin, layer.k, layer.k],
            Distribution::Uniform(-0.1, 0.1),
            device,
        );
        let bias = Tensor::<1>::zeros([layer.cout], device);
        let mask = match layer.mask {
            Some(t) => mask_tensor(layer.k, t, layer.cin, layer.cout, device),
            None => Tensor::<4>::ones([layer.cout, layer.cin, layer.k, layer.k], device),
        };
        let opts = ConvOptions::new([1, 1], [p, p], [1, 1], 1);
        let t_opts = ConvTransposeOptions::new([1, 1], [p, p], [0, 0], [1, 1], 1);
        let wm = w.clone() * mask.clone();
        let fwd = time_ms(reps, || conv2d(x.clone(), wm.clone(), Some(bias.clone()), opts.clone()));
        let mask_ms = if layer.mask.is_some() { time_ms(reps, || w.clone() * mask.clone()) } else { 0.0 };
        let dx = if layer.input_grad {
            time_ms(reps, || conv_transpose2d(g.clone(), wm.clone(), None, t_opts.clone()))
        } else {
            0.0
        };
        let dw = time_ms(reps, || conv2d_weight_backward(x.clone(), wm.clone(), g.clone(), opts.clone()));
        let n = b * SIDE * SIDE;
        let db = time_ms(reps, || g.clone().swap_dims(0, 1).reshape([layer.cout, n]).sum_dim(1));
        // Each masked product also gets a backward (grad * mask) in autodiff: count it twice.
        let burn_bwd = dx + dw + db + mask_ms;

        let (tx, tw, tm, tg) = (to_tch(&x), to_tch(&w), to_tch(&mask), to_tch(&g));
        let tb = TchTensor::zeros([layer.cout as i64], (Kind::Float, tch::Device::Cpu));
        let pi = p as i64;
        let tch_fwd = time_ms(reps, || tx.conv2d(&(&tw * &tm), Some(&tb), [1, 1], [pi, pi], [1, 1], 1));
        let tch_bwd = native_backward_ms(reps, &tx, &tw, &tm, &tb, &tg, pi, layer.input_grad);
        let (cx, cw, cg) = (channels_last(&tx), channels_last(&tw), channels_last(&tg));
        let cm = channels_last(&tm);
        let cl_fwd = time_ms(reps, || cx.conv2d(&(&cw * &cm), Some(&tb), [1, 1], [pi, pi], [1, 1], 1));
        let cl_bwd = native_backward_ms(reps, &cx, &cw, &cm, &tb, &cg, pi, layer.input_grad);

        // Candidate replacements.
        let dx_conv = if layer.input_grad {
            let flipped = wm.clone().swap_dims(0, 1).flip([2, 3]);
            time_ms(reps, || conv2d(g.clone(), flipped.clone(), None, opts.clone()))
        } else {
            0.0
        };
        let dw_mm = if layer.k == 1 {
            time_ms(reps, || {
                let gm = g.clone().swap_dims(0, 1).reshape([layer.cout, n]);
                let xm = x.clone().swap_dims(0, 1).reshape([layer.cin, n]);
                gm.matmul(xm.transpose())
            })
        } else {
            f64::NAN
        };
        let fwd_2x3 = if layer.mask == Some(MaskType::B) && layer.k == 3 {
            // Mask B keeps the row above and the left and centre taps of its own row: a 2x3
            // kernel over rows (i-1, i) with the (i, j+1) tap zero, output row i = input rows
            // i-1..=i. Padding 1 on every side gives H+1 rows; the first H are the result.
            let w23 = wm.clone().slice([0..layer.cout, 0..layer.cin, 0..2, 0..3]);
            time_ms(reps, || {
                conv2d(
                    x.clone(),
                    w23.clone(),
                    Some(bias.clone()),
                    ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
                )
                .slice([0..b, 0..layer.cout, 0..SIDE, 0..SIDE])
            })
        } else {
            f64::NAN
        };
        slow.push((layer.name, OVERHEAD_MS.with(std::cell::Cell::get)));
        let c = layer.per_step as f64;
        for (t, v) in totals.iter_mut().zip([fwd + mask_ms, burn_bwd, tch_fwd, tch_bwd, cl_fwd, cl_bwd]) {
            *t += c * v;
        }
        println!(
            "{:<20} {:>5} | {fwd:>8.1} {mask_ms:>6.2} {dx:>9.1} {dw:>9.1} {db:>7.1} {burn_bwd:>9.1} | {tch_fwd:>8.1} {tch_bwd:>9.1} {cl_fwd:>8.1} {cl_bwd:>9.1} | {dx_conv:>9.1} {dw_mm:>9.1} {fwd_2x3:>9.1}",
            layer.name, layer.per_step
        );
    }
    for (name, overhead) in slow {
        println!(
            "{name:<20} backward of (y * g).sum() alone, subtracted from `tch bwd`/`CL bwd`: {overhead:.1}"
        );
    }
    println!(
        "per step (x count): burn fwd {:.0} ms, burn bwd {:.0} ms | libtorch native NCHW fwd {:.0} ms, bwd {:.0} ms | channels-last fwd {:.0} ms, bwd {:.0} ms",
        totals[0], totals[1], totals[2], totals[3], totals[4], totals[5]
    );
}

fn loss(args: &Args, device: &Device) {
    let reps = args.reps;
    let q = args.levels;
    let b = args.batch;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let levels: Vec<i64> = (0..b * SIDE * SIDE).map(|_| rng.random_range(0..q) as i64).collect();
    let targets = Tensor::<3, Int>::from_data(TensorData::new(levels, [b, SIDE, SIDE]), device);
    let logits = Tensor::<4>::random([b, q, SIDE, SIDE], Distribution::Default, device);
    let fwd = time_ms(reps, || {
        log_softmax(logits.clone(), 1).gather(1, targets.clone().unsqueeze_dim::<4>(1)).mean().neg()
    });
    let fwd_bwd =
        time_ms(reps, || nll_per_pixel(logits.clone().autodiff().require_grad(), targets.clone()).backward());
    println!("\n## loss at q = {q}, batch {b}");
    println!("forward (log_softmax + gather + mean): {fwd:.1} ms; forward + backward: {fwd_bwd:.1} ms");
}

/// The ReLUs and residual additions around the convolutions: burn's ReLU backward is the default
/// `relu_backward` of burn-backend (a `<= 0` comparison, then `mask_fill`: two passes and a bool
/// tensor), where libtorch has one fused `threshold_backward`.
fn elementwise(args: &Args, device: &Device) {
    let reps = args.reps;
    let b = args.batch;
    let h = args.hidden;
    println!("\n## elementwise at batch {b} (ms per call)");
    println!(
        "{:<14} {:>5} | {:>9} {:>10} {:>9} | {:>9} {:>12} {:>9}",
        "shape", "count", "burn relu", "burn relu'", "burn add", "tch relu", "tch thresh'", "tch add"
    );
    let mut totals = [0.0f64; 2];
    // ReLUs per step: one on the 2h stream per block and two in the head; two on h per block.
    for (channels, relus, adds) in [(2 * h, args.blocks + 2, args.blocks), (h, 2 * args.blocks, 0)] {
        let x = Tensor::<4>::random([b, channels, SIDE, SIDE], Distribution::Uniform(-1.0, 1.0), device);
        let g = Tensor::<4>::random([b, channels, SIDE, SIDE], Distribution::Default, device);
        let relu = time_ms(reps, || burn::tensor::activation::relu(x.clone()));
        let relu_bwd = time_ms(reps, || g.clone().mask_fill(x.clone().lower_equal_elem(0.0), 0.0));
        let add = time_ms(reps, || x.clone() + g.clone());
        let (tx, tg) = (to_tch(&x), to_tch(&g));
        let t_relu = time_ms(reps, || tx.relu());
        let t_bwd = time_ms(reps, || tx.threshold_backward(&tg, 0.0));
        let t_add = time_ms(reps, || &tx + &tg);
        totals[0] += relus as f64 * (relu + relu_bwd) + adds as f64 * add;
        totals[1] += relus as f64 * (t_relu + t_bwd) + adds as f64 * t_add;
        println!(
            "{:<14} {relus:>5} | {relu:>9.1} {relu_bwd:>10.1} {add:>9.1} | {t_relu:>9.1} {t_bwd:>12.1} {t_add:>9.1}",
            format!("[{b},{channels},28,28]")
        );
    }
    println!("per step: burn {:.0} ms, libtorch ops {:.0} ms", totals[0], totals[1]);
}

/// Forward and backward (burn autodiff on libtorch) of the residual block's 3x3 mask-B convolution
/// as it is now, against formulations that use only the 5 taps mask B keeps: the 5 shifted copies
/// of the input side by side (im2col over the kept taps) times a `[5h, h]` matrix, whose backward is
/// two matrix products instead of burn's convolution backward; with NCHW activations (permutes
/// around the product) and with NHWC activations (1x1 convolutions then are plain matrix products
/// too). Also the block's 1x1 convolution against the same matrix product in NHWC.
fn candidates(args: &Args, device: &Device) {
    let reps = args.reps;
    let (b, h) = (args.batch, args.hidden);
    let ad = device.clone().autodiff();
    let x = Tensor::<4>::random([b, h, SIDE, SIDE], Distribution::Default, &ad);
    let g = Tensor::<4>::random([b, h, SIDE, SIDE], Distribution::Default, &ad);
    let w = Tensor::<4>::random([h, h, 3, 3], Distribution::Uniform(-0.1, 0.1), &ad);
    let mask = mask_tensor(3, MaskType::B, h, h, &ad);
    let bias = Tensor::<1>::zeros([h], &ad);
    let w5 = Tensor::<2>::random([5 * h, h], Distribution::Uniform(-0.1, 0.1), &ad);
    let taps = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)];
    let conv = time_ms(reps, || {
        let (x, w, bias) = (x.clone().require_grad(), w.clone().require_grad(), bias.clone().require_grad());
        let y = conv2d(x, w * mask.clone(), Some(bias), ConvOptions::new([1, 1], [1, 1], [1, 1], 1));
        (y * g.clone()).sum().backward()
    });
    let nchw = time_ms(reps, || {
        let (x, w5) = (x.clone().require_grad(), w5.clone().require_grad());
        let padded = x.pad([(1, 0), (1, 1)], PadMode::Constant(0.0));
        let cols: Vec<Tensor<4>> =
            taps.iter().map(|&(r, c)| padded.clone().slice([0..b, 0..h, r..r + SIDE, c..c + SIDE])).collect();
        let m = Tensor::cat(cols, 1).permute([0, 2, 3, 1]).reshape([b * SIDE * SIDE, 5 * h]);
        let y = m.matmul(w5).reshape([b, SIDE, SIDE, h]).permute([0, 3, 1, 2]);
        (y * g.clone()).sum().backward()
    });
    let xn = x.clone().permute([0, 2, 3, 1]).reshape([b, SIDE, SIDE, h]);
    let gn = g.clone().permute([0, 2, 3, 1]).reshape([b * SIDE * SIDE, h]);
    let nhwc = time_ms(reps, || {
        let (x, w5) = (xn.clone().require_grad(), w5.clone().require_grad());
        let padded = x.pad([(1, 0), (1, 1), (0, 0)], PadMode::Constant(0.0));
        let cols: Vec<Tensor<4>> =
            taps.iter().map(|&(r, c)| padded.clone().slice([0..b, r..r + SIDE, c..c + SIDE, 0..h])).collect();
        let m = Tensor::cat(cols, 3).reshape([b * SIDE * SIDE, 5 * h]);
        (m.matmul(w5) * gn.clone()).sum().backward()
    });
    let x2 = Tensor::<4>::random([b, 2 * h, SIDE, SIDE], Distribution::Default, &ad);
    let w1 = Tensor::<4>::random([h, 2 * h, 1, 1], Distribution::Uniform(-0.1, 0.1), &ad);
    let conv1 = time_ms(reps, || {
        let (x, w, bias) =
            (x2.clone().require_grad(), w1.clone().require_grad(), bias.clone().require_grad());
        let y = conv2d(x, w, Some(bias), ConvOptions::new([1, 1], [0, 0], [1, 1], 1));
        (y * g.clone()).sum().backward()
    });
    let x2n = x2.clone().permute([0, 2, 3, 1]).reshape([b * SIDE * SIDE, 2 * h]);
    let w1n = Tensor::<2>::random([2 * h, h], Distribution::Uniform(-0.1, 0.1), &ad);
    let mm1 = time_ms(reps, || {
        let (x, w) = (x2n.clone().require_grad(), w1n.clone().require_grad());
        (x.matmul(w) * gn.clone()).sum().backward()
    });
    println!("\n## candidates, batch {b}: forward + backward through burn autodiff (ms per layer)");
    println!("3x3 mask B as now (conv2d, 9 taps, burn conv backward):      {conv:>8.1}");
    println!("3x3 mask B as 5 shifted copies x [5h, h], NCHW activations:  {nchw:>8.1}");
    println!("3x3 mask B as 5 shifted copies x [5h, h], NHWC activations:  {nhwc:>8.1}");
    println!("1x1 2h->h as now (conv2d, burn conv backward):              {conv1:>8.1}");
    println!("1x1 2h->h as [B*H*W, 2h] x [2h, h], NHWC activations:        {mm1:>8.1}");
    println!("(each includes the same (y * g).sum() and its backward)");
}
