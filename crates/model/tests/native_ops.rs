//! The libtorch-native convolution, ReLU and loss of `pixelcnn_model::native` against burn's own ops on
//! libtorch CPU: the same forward values and the same gradients (within float rounding: the native
//! convolution skips the kernel rows below the centre and works channels-last, so its sums run in
//! another order) for the input, the weight and the bias, masked taps included. Run with
//! `--features tch`.
#![cfg(feature = "tch")]

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::store::ModuleRecord;
use burn::tensor::activation;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use pixelcnn_model::mask::{mask, mask_tensor};
use pixelcnn_model::native::{causal_conv2d, padded_conv2d, relu};
use pixelcnn_model::{GatedPixelCnnConfig, MaskType, Model, PixelCnn, PixelCnnConfig, nll_per_pixel};

#[allow(deprecated)] // burn 0.22 marks its libtorch device deprecated; it is our main backend
fn libtorch() -> Device {
    Device::libtorch()
}

fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.try_into_vec_as::<f32>().expect("f32 values")
}

/// Largest `|a - b|`, after checking the lengths agree.
fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn assert_close(name: &str, native: &[f32], burn: &[f32], tolerance: f32) {
    let scale = burn.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let diff = max_diff(native, burn);
    assert!(diff <= tolerance * scale, "{name}: native and burn differ by {diff} (scale {scale})");
}

/// Forward and all three gradients of a masked convolution, native against burn's `conv2d`, for
/// a loss that weights every output differently.
fn check_conv(cin: usize, cout: usize, k: usize, mask_type: Option<MaskType>) {
    let device = libtorch().autodiff();
    device.seed(7);
    let (b, h, w) = (3, 6, 5);
    let x = Tensor::<4>::random([b, cin, h, w], Distribution::Uniform(-1.0, 1.0), &device);
    let weight = Tensor::<4>::random([cout, cin, k, k], Distribution::Uniform(-0.5, 0.5), &device);
    let bias = Tensor::<1>::random([cout], Distribution::Uniform(-0.5, 0.5), &device);
    let upstream = Tensor::<4>::random([b, cout, h, w], Distribution::Uniform(-1.0, 1.0), &device);
    let kernel_mask = match mask_type {
        Some(t) => mask_tensor(k, t, cin, cout, &device),
        None => Tensor::ones([cout, cin, k, k], &device),
    };
    let p = k / 2;
    let run = |native: bool| {
        let (x, weight, bias) =
            (x.clone().require_grad(), weight.clone().require_grad(), bias.clone().require_grad());
        let masked = weight.clone() * kernel_mask.clone();
        let y = if native {
            causal_conv2d(x.clone(), masked, bias.clone())
        } else {
            conv2d(x.clone(), masked, Some(bias.clone()), ConvOptions::new([1, 1], [p, p], [1, 1], 1))
        };
        let grads = (y.clone() * upstream.clone()).sum().backward();
        let grad = |t: Tensor<4>| values(t.grad(&grads).expect("gradient"));
        (values(y), grad(x), grad(weight.clone()), values(bias.grad(&grads).expect("bias gradient")))
    };
    let (y_native, dx_native, dw_native, db_native) = run(true);
    let (y_burn, dx_burn, dw_burn, db_burn) = run(false);
    let name = format!("{k}x{k} {cin}->{cout} {mask_type:?}");
    assert_close(&format!("{name} forward"), &y_native, &y_burn, 1e-6);
    assert_close(&format!("{name} dx"), &dx_native, &dx_burn, 1e-5);
    assert_close(&format!("{name} dw"), &dw_native, &dw_burn, 1e-5);
    assert_close(&format!("{name} db"), &db_native, &db_burn, 1e-5);
    if let Some(t) = mask_type {
        let kept = mask(k, t);
        for (index, value) in dw_native.iter().enumerate() {
            if kept[index % (k * k)] == 0.0 {
                assert_eq!(*value, 0.0, "{name}: masked tap {index} has gradient {value}");
            }
        }
    }
}

#[test]
fn masked_3x3_b_convolution_matches_burn() {
    check_conv(4, 5, 3, Some(MaskType::B));
}

#[test]
fn masked_7x7_a_input_convolution_matches_burn() {
    check_conv(1, 6, 7, Some(MaskType::A));
}

#[test]
fn one_by_one_convolution_matches_burn() {
    check_conv(6, 3, 1, None);
}

/// Only the weight and bias need gradients (the model's input convolution): libtorch is asked for
/// those two alone, and they still match burn's.
#[test]
fn convolution_without_input_gradient_matches_burn() {
    let device = libtorch().autodiff();
    device.seed(11);
    let x = Tensor::<4>::random([2, 1, 5, 5], Distribution::Default, &device);
    let weight = Tensor::<4>::random([4, 1, 3, 3], Distribution::Default, &device);
    let bias = Tensor::<1>::random([4], Distribution::Default, &device);
    let kernel_mask = mask_tensor(3, MaskType::A, 1, 4, &device);
    let run = |native: bool| {
        let (weight, bias) = (weight.clone().require_grad(), bias.clone().require_grad());
        let masked = weight.clone() * kernel_mask.clone();
        let y = if native {
            causal_conv2d(x.clone(), masked, bias.clone())
        } else {
            conv2d(x.clone(), masked, Some(bias.clone()), ConvOptions::new([1, 1], [1, 1], [1, 1], 1))
        };
        let grads = (y.clone() * y).sum().backward();
        (values(weight.grad(&grads).expect("weight")), values(bias.grad(&grads).expect("bias")))
    };
    let (dw_native, db_native) = run(true);
    let (dw_burn, db_burn) = run(false);
    assert_close("dw", &dw_native, &dw_burn, 1e-5);
    assert_close("db", &db_native, &db_burn, 1e-5);
}

/// ReLU: same values; the gradient is passed where the input is positive and zero elsewhere,
/// exactly as burn's, including at exact zeros.
#[test]
fn relu_matches_burn_exactly() {
    let device = libtorch().autodiff();
    let data = TensorData::new(vec![-2.0f32, -0.0, 0.0, 0.5, 3.0, -1.0, 2.0, 0.0], [1, 2, 2, 2]);
    let x = Tensor::<4>::from_data(data, &device);
    let upstream = Tensor::<4>::from_data(
        TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [1, 2, 2, 2]),
        &device,
    );
    let run = |native: bool| {
        let x = x.clone().require_grad();
        let y = if native { relu(x.clone()) } else { activation::relu(x.clone()) };
        let grads = (y.clone() * upstream.clone()).sum().backward();
        (values(y), values(x.grad(&grads).expect("gradient")))
    };
    let burn = run(false);
    let (y_native, dx_native) = run(true);
    assert_eq!(burn, (y_native.clone(), dx_native.clone()));
    assert_eq!(dx_native, vec![0.0, 0.0, 0.0, 4.0, 5.0, 0.0, 7.0, 0.0]);
}

/// The training loss: libtorch's fused cross-entropy against burn's log-softmax and gather, in
/// value and in the gradient of the logits, at q = 2 and q = 256, on channels-last logits as the
/// model produces them.
#[test]
fn loss_matches_burn() {
    let device = libtorch().autodiff();
    device.seed(5);
    for q in [2, 256] {
        let logits = Tensor::<4>::random([3, q, 4, 5], Distribution::Uniform(-4.0, 4.0), &device);
        let weight = Tensor::<4>::random([q, q, 1, 1], Distribution::Uniform(-0.5, 0.5), &device);
        let levels: Vec<i64> = (0..60).map(|i| (i * 37 % q) as i64).collect();
        let targets = Tensor::<3, Int>::from_data(TensorData::new(levels, [3, 4, 5]), &device);
        let run = |native: bool| {
            let logits = logits.clone().require_grad();
            // Through the native convolution, so the loss sees channels-last logits.
            let mixed = causal_conv2d(logits.clone(), weight.clone(), Tensor::zeros([q], &device));
            let loss = if native {
                nll_per_pixel(mixed, targets.clone())
            } else {
                let log_probs = activation::log_softmax(mixed, 1);
                log_probs.gather(1, targets.clone().unsqueeze_dim::<4>(1)).mean().neg()
            };
            let grads = loss.backward();
            (values(loss), values(logits.grad(&grads).expect("gradient")))
        };
        let (loss_native, dx_native) = run(true);
        let (loss_burn, dx_burn) = run(false);
        assert_close(&format!("q={q} loss"), &loss_native, &loss_burn, 1e-6);
        assert_close(&format!("q={q} dlogits"), &dx_native, &dx_burn, 1e-5);
    }
}

/// Collects every parameter's gradient, in visiting order.
struct GradCollector<'a> {
    grads: &'a burn::tensor::Gradients,
    out: Vec<Vec<f32>>,
}

impl ModuleVisitor for GradCollector<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.out.push(values(param.val().grad(self.grads).expect("parameter gradient")));
    }
}

/// Gives every parameter random values, the zero-initialised biases and label tables included:
/// a forward that dropped or misplaced a bias then gives other logits.
struct Randomise;

impl ModuleMapper for Randomise {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| Tensor::random(t.dims(), Distribution::Uniform(-0.3, 0.3), &t.device()).require_grad())
    }
}

/// The model's forward written with burn's own ops only: what `PixelCnn::forward` computed before
/// `native` existed.
fn burn_forward(model: &PixelCnn, input: Tensor<4>) -> Tensor<4> {
    let conv = |x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>| {
        let p = weight.dims()[2] / 2;
        conv2d(x, weight, Some(bias), ConvOptions::new([1, 1], [p, p], [1, 1], 1))
    };
    let dense = |c: &burn::nn::conv::Conv2d, x: Tensor<4>| c.forward(x);
    let input_conv = &model.input_conv;
    let mut x = conv(input, input_conv.weight.val() * input_conv.mask.clone(), input_conv.bias.val());
    for block in &model.blocks {
        let y = dense(&block.conv2a, activation::relu(x.clone()));
        let b = &block.conv2b;
        let y = conv(activation::relu(y), b.weight.val() * b.mask.clone(), b.bias.val());
        let y = dense(&block.conv2c, activation::relu(y));
        x = y + x;
    }
    let x = dense(&model.hidden_conv, activation::relu(x));
    dense(&model.output_conv, activation::relu(x))
}

/// The whole model: logits and every parameter's gradient within float rounding of the pure-burn
/// forward's, masked taps at exactly zero, the native step deterministic, and the same logits
/// with and without autodiff.
#[test]
fn model_logits_and_gradients_match_burn() {
    let device = libtorch().autodiff();
    device.seed(3);
    let model = PixelCnnConfig::new(5).with_blocks(2).with_hidden(4).init(&device);
    let input = Tensor::<4>::random([2, 1, 7, 6], Distribution::Default, &device);
    let upstream = Tensor::<4>::random([2, 5, 7, 6], Distribution::Default, &device);
    let run = |native: bool| {
        let logits = if native { model.forward(input.clone()) } else { burn_forward(&model, input.clone()) };
        let grads = (logits.clone() * upstream.clone()).sum().backward();
        let mut collector = GradCollector { grads: &grads, out: Vec::new() };
        model.visit(&mut collector);
        (values(logits), collector.out)
    };
    let (logits_native, grads_native) = run(true);
    let (logits_burn, grads_burn) = run(false);
    assert_close("logits", &logits_native, &logits_burn, 1e-5);
    assert_eq!(grads_native.len(), 18);
    for (i, (native, burn)) in grads_native.iter().zip(&grads_burn).enumerate() {
        assert_close(&format!("parameter {i}"), native, burn, 1e-5);
    }
    // Visiting order: the input convolution's weight first, then its bias.
    let kept = mask(7, MaskType::A);
    for (index, value) in grads_native[0].iter().enumerate() {
        if kept[index % 49] == 0.0 {
            assert_eq!(*value, 0.0, "masked input tap {index} has gradient {value}");
        }
    }
    assert_eq!(run(true), (logits_native.clone(), grads_native), "the native step is not deterministic");

    // Without autodiff (evaluation, sampling) the same logits.
    let valid = model.valid();
    let plain = values(valid.forward(Tensor::from_data(input.to_data(), &libtorch())));
    assert_eq!(plain, logits_native, "inference logits differ from training's");
}

/// The padded convolution (the gated PixelCNN's stacks and shift): forward and all three
/// gradients, native against burn's pad and `conv2d`, for the paddings the gated layers use.
#[test]
fn padded_convolution_matches_burn() {
    let device = libtorch().autodiff();
    device.seed(13);
    // (in, out, kernel [kh, kw], padding [left, right, top, bottom])
    let cases: [(usize, usize, [usize; 2], [usize; 4]); 4] = [
        (3, 4, [2, 3], [1, 1, 1, 0]),
        (1, 6, [3, 5], [2, 2, 2, 0]),
        (4, 4, [1, 2], [1, 0, 0, 0]),
        (4, 4, [1, 1], [0, 0, 1, 0]),
    ];
    for (cin, cout, [kh, kw], padding) in cases {
        let (b, h, w) = (2, 5, 6);
        let x = Tensor::<4>::random([b, cin, h, w], Distribution::Uniform(-1.0, 1.0), &device);
        let weight = Tensor::<4>::random([cout, cin, kh, kw], Distribution::Uniform(-0.5, 0.5), &device);
        let bias = Tensor::<1>::random([cout], Distribution::Uniform(-0.5, 0.5), &device);
        let [left, right, top, bottom] = padding;
        let out = [b, cout, h + top + bottom + 1 - kh, w + left + right + 1 - kw];
        let upstream = Tensor::<4>::random(out, Distribution::Uniform(-1.0, 1.0), &device);
        let run = |native: bool| {
            let (x, weight, bias) =
                (x.clone().require_grad(), weight.clone().require_grad(), bias.clone().require_grad());
            let y = if native {
                padded_conv2d(x.clone(), weight.clone(), bias.clone(), padding)
            } else {
                let padded =
                    x.clone().pad((left, right, top, bottom), burn::tensor::ops::PadMode::Constant(0.0));
                conv2d(
                    padded,
                    weight.clone(),
                    Some(bias.clone()),
                    ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
                )
            };
            assert_eq!(y.dims(), out);
            let grads = (y.clone() * upstream.clone()).sum().backward();
            let grad = |t: Tensor<4>| values(t.grad(&grads).expect("gradient"));
            (values(y), grad(x), grad(weight.clone()), values(bias.grad(&grads).expect("bias gradient")))
        };
        let (y_native, dx_native, dw_native, db_native) = run(true);
        let (y_burn, dx_burn, dw_burn, db_burn) = run(false);
        let name = format!("{kh}x{kw} {cin}->{cout} padded {padding:?}");
        assert_close(&format!("{name} forward"), &y_native, &y_burn, 1e-6);
        assert_close(&format!("{name} dx"), &dx_native, &dx_burn, 1e-5);
        assert_close(&format!("{name} dw"), &dw_native, &dw_burn, 1e-5);
        assert_close(&format!("{name} db"), &db_native, &db_burn, 1e-5);
    }
}

/// The label-conditional gated PixelCNN on libtorch (native convolutions, channels-last) against
/// the same parameters on flex (burn's own ops): the same logits and the same gradient of every
/// parameter, label biases included, within float rounding; and the same logits without autodiff.
/// Every parameter is random (biases and label tables are zero when initialised).
#[test]
fn gated_model_matches_flex() {
    let config =
        GatedPixelCnnConfig::new(5).with_layers(3).with_channels(4).with_kernel(5).with_classes(Some(10));
    let torch = libtorch().autodiff();
    torch.seed(17);
    let on_torch = Model::from(config.init(&torch)).map(&mut Randomise);
    let record =
        ModuleRecord::from_bytes(on_torch.clone().into_family_record().into_bytes().unwrap()).unwrap();
    let flex = Device::flex().autodiff();
    let on_flex = Model::from(config.init(&flex)).try_load_family_record(record).unwrap();
    let input = Tensor::<4>::random([2, 1, 7, 6], Distribution::Default, &torch);
    let upstream = Tensor::<4>::random([2, 5, 7, 6], Distribution::Default, &torch);
    let run = |model: &Model, device: &Device| {
        let input = Tensor::<4>::from_data(input.to_data(), device);
        let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![3i64, 8], [2]), device);
        let logits = model.forward(input, Some(labels));
        let grads = (logits.clone() * Tensor::from_data(upstream.to_data(), device)).sum().backward();
        let mut collector = GradCollector { grads: &grads, out: Vec::new() };
        model.visit(&mut collector);
        (values(logits), collector.out)
    };
    let (logits_torch, grads_torch) = run(&on_torch, &torch);
    let (logits_flex, grads_flex) = run(&on_flex, &flex);
    assert_close("logits", &logits_torch, &logits_flex, 1e-5);
    // 3 layers x (4 convolutions x 2 + 2 label tables), the last without a vertical one, and a
    // head of 4: every parameter gets a gradient.
    assert_eq!(grads_torch.len(), 33);
    for (i, (a, b)) in grads_torch.iter().zip(&grads_flex).enumerate() {
        assert_close(&format!("parameter {i}"), a, b, 1e-5);
    }
    let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![3i64, 8], [2]), &libtorch());
    let plain =
        values(on_torch.valid().forward(Tensor::from_data(input.to_data(), &libtorch()), Some(labels)));
    assert_eq!(plain, logits_torch, "inference logits differ from training's");
}
