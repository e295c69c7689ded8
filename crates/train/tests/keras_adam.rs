//! `KerasAdam` against Keras's update rule computed by hand in f64, with an epsilon large enough
//! that PyTorch's rule (epsilon added to the bias-corrected sqrt(v_hat), burn's `Adam`) gives
//! measurably different parameters; and its state survives `into_bytes` / `from_bytes`.

mod common;

use burn::module::{Module, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Bytes, Device, Tensor, TensorData};
use pixelcnn_config::DeviceSpec;
use pixelcnn_train::device;
use pixelcnn_train::optim::KerasAdam;

use common::THREADS;

#[derive(Module, Debug)]
struct Single {
    w: Param<Tensor<1>>,
}

const LR: f64 = 0.1;
const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
/// Large next to sqrt(v) for these gradients, so the two conventions disagree clearly.
const EPSILON: f64 = 1e-2;
const START: [f32; 3] = [0.5, -0.25, 1.0];
/// Gradients of steps 1..=4 (the loss `sum(g * w)` has gradient `g` whatever `w` is).
const GRADS: [[f32; 3]; 4] =
    [[0.05, -0.02, 0.003], [0.04, 0.01, -0.002], [-0.03, -0.015, 0.004], [0.02, 0.02, 0.001]];

fn values(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor")
}

fn start(device: &Device) -> Single {
    let dev = device.clone().autodiff();
    Single { w: Param::from_tensor(Tensor::from_data(TensorData::new(START.to_vec(), [3]), &dev)) }
}

fn step(optimizer: &mut ModuleOptimizer, model: Single, g: [f32; 3]) -> Single {
    let dev = model.w.val().device();
    let loss = (model.w.val() * Tensor::<1>::from_data(TensorData::new(g.to_vec(), [3]), &dev)).sum();
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    optimizer.step(LR, model, grads)
}

/// Parameters after each of `steps` steps by hand, in f64. `keras`: epsilon on the uncorrected
/// sqrt(v), bias corrections folded into the step size; otherwise PyTorch's rule.
fn by_hand(steps: usize, keras: bool) -> Vec<[f64; 3]> {
    let mut theta = START.map(f64::from);
    let (mut m, mut v) = ([0.0f64; 3], [0.0f64; 3]);
    let mut out = Vec::new();
    for (t, g) in GRADS.iter().take(steps).enumerate() {
        let t = i32::try_from(t + 1).expect("small");
        let (c1, c2) = (1.0 - BETA1.powi(t), 1.0 - BETA2.powi(t));
        for i in 0..3 {
            let g = f64::from(g[i]);
            m[i] = BETA1 * m[i] + (1.0 - BETA1) * g;
            v[i] = BETA2 * v[i] + (1.0 - BETA2) * g * g;
            theta[i] -= if keras {
                LR * c2.sqrt() / c1 * m[i] / (v[i].sqrt() + EPSILON)
            } else {
                LR * (m[i] / c1) / ((v[i] / c2).sqrt() + EPSILON)
            };
        }
        out.push(theta);
    }
    out
}

fn distance(actual: &[f32], expected: &[f64; 3]) -> f64 {
    actual.iter().zip(expected).map(|(&a, e)| (f64::from(a) - e).abs()).fold(0.0, f64::max)
}

fn check_first_three_steps_follow_keras(device: &Device) {
    let keras = by_hand(3, true);
    let torch = by_hand(3, false);
    let mut optimizer = KerasAdam::module_optimizer(BETA1, BETA2, EPSILON);
    let mut model = start(device);
    for t in 0..3 {
        model = step(&mut optimizer, model, GRADS[t]);
        let w = values(model.w.val());
        let to_keras = distance(&w, &keras[t]);
        let to_torch = distance(&w, &torch[t]);
        assert!(to_keras < 2e-6, "step {}: {w:?} is {to_keras} from Keras's {:?}", t + 1, keras[t]);
        // The example is only meaningful if the two rules really disagree.
        assert!(to_torch > 1e-3, "step {}: {w:?} is only {to_torch} from PyTorch's {:?}", t + 1, torch[t]);
    }
}

fn check_state_survives_bytes(device: &Device) {
    let mut optimizer = KerasAdam::module_optimizer(BETA1, BETA2, EPSILON);
    let mut model = start(device);
    for g in &GRADS[..3] {
        model = step(&mut optimizer, model, *g);
    }
    let bytes = optimizer.into_bytes().expect("state serialises");
    let mut restored = KerasAdam::module_optimizer(BETA1, BETA2, EPSILON)
        .from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .expect("state deserialises");

    let next = values(step(&mut optimizer, model.clone(), GRADS[3]).w.val());
    let after_restore = values(step(&mut restored, model.clone(), GRADS[3]).w.val());
    let bits = |w: &[f32]| w.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&after_restore), bits(&next), "restored optimizer took a different 4th step");
    let keras = by_hand(4, true);
    assert!(distance(&next, &keras[3]) < 2e-6, "4th step {next:?} is not Keras's {:?}", keras[3]);

    // Control: without the state (t = 1, zero moments) the 4th step would be different, so the
    // equality above really depends on m, v and t having been restored.
    let mut fresh = KerasAdam::module_optimizer(BETA1, BETA2, EPSILON);
    let stateless = values(step(&mut fresh, model, GRADS[3]).w.val());
    assert!(distance(&stateless, &keras[3]) > 1e-4, "a fresh optimizer matches too: {stateless:?}");
}

fn flex() -> Device {
    device::select(DeviceSpec::Flex, THREADS).expect("flex device").device
}

fn libtorch_cpu() -> Device {
    device::select(DeviceSpec::Cpu, THREADS).expect("libtorch CPU device").device
}

#[test]
fn first_three_steps_follow_keras_on_flex() {
    check_first_three_steps_follow_keras(&flex());
}

#[test]
fn first_three_steps_follow_keras_on_libtorch_cpu() {
    check_first_three_steps_follow_keras(&libtorch_cpu());
}

#[test]
fn state_survives_bytes_on_flex() {
    check_state_survives_bytes(&flex());
}

#[test]
fn state_survives_bytes_on_libtorch_cpu() {
    check_state_survives_bytes(&libtorch_cpu());
}
