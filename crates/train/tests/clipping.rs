//! `clip_global_norm` against hand-computed examples: every gradient is scaled by the same factor
//! `min(1, max_norm / global_norm)`, where the norm runs over all parameters together (TensorFlow's
//! `clip_by_global_norm`), not tensor by tensor as burn's `GradientClipping::Norm` does.

mod common;

use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use pixelcnn_config::DeviceSpec;
use pixelcnn_train::device;
use pixelcnn_train::optim::clip_global_norm;

use common::THREADS;

/// Three parameters; the loss below uses only the first two, so `unused` has no gradient.
#[derive(Module, Debug)]
struct Three {
    w1: Param<Tensor<1>>,
    w2: Param<Tensor<2>>,
    unused: Param<Tensor<1>>,
}

/// Gradient of `w1` in the examples: norm 3.
const A: [f32; 3] = [1.0, -2.0, 2.0];
/// Gradient of `w2` in the examples: norm 4, so the global norm is exactly 5.
const B: [[f32; 2]; 2] = [[0.0, 2.4], [-3.2, 0.0]];

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor")
}

fn flat_b() -> Vec<f32> {
    B.iter().flatten().copied().collect()
}

/// The module and the gradients of `sum(a * w1) + sum(b * w2)`, which are `a` and `b` exactly.
fn gradients(device: &Device, a: &[f32], b: &[f32]) -> (Three, GradientsParams) {
    let dev = device.clone().autodiff();
    let model = Three {
        w1: Param::from_tensor(Tensor::from_data(TensorData::new(vec![0.5f32, -1.0, 0.25], [3]), &dev)),
        w2: Param::from_tensor(Tensor::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2]), &dev)),
        unused: Param::from_tensor(Tensor::from_data(TensorData::new(vec![7.0f32, 8.0], [2]), &dev)),
    };
    let ga = Tensor::<1>::from_data(TensorData::new(a.to_vec(), [3]), &dev);
    let gb = Tensor::<2>::from_data(TensorData::new(b.to_vec(), [2, 2]), &dev);
    let loss = (model.w1.val() * ga).sum() + (model.w2.val() * gb).sum();
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    (model, grads)
}

fn assert_close(actual: &[f32], expected: &[f64], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (&x, &e)) in actual.iter().zip(expected).enumerate() {
        assert!((f64::from(x) - e).abs() < 1e-6, "{what}[{i}]: got {x}, expected {e}");
    }
}

fn check_large_norm_is_scaled_globally(device: &Device) {
    let (model, grads) = gradients(device, &A, &flat_b());
    // Before clipping the gradients are the known a and b.
    assert_close(&values(grads.get::<1>(model.w1.id).expect("w1 grad")), &A.map(f64::from), "raw a");
    assert!(grads.get::<1>(model.unused.id).is_none(), "unused parameter has no gradient");

    let max_norm = 2.5;
    let (clipped, norm) = clip_global_norm(grads, &model, max_norm);

    // Hand value: sqrt(1 + 4 + 4 + 2.4^2 + 3.2^2) = sqrt(9 + 16) = 5.
    let all: Vec<f64> = A.iter().chain(flat_b().iter()).map(|&g| f64::from(g)).collect();
    let global = all.iter().map(|g| g * g).sum::<f64>().sqrt();
    assert!((global - 5.0).abs() < 1e-6, "the example's global norm is 5, got {global}");
    let norm = values(norm);
    assert_eq!(norm.len(), 1, "the norm is one value");
    assert!((f64::from(norm[0]) - global).abs() < 1e-6, "returned norm {} != {global}", norm[0]);

    // Every gradient times max_norm / global = 0.5.
    let scale = max_norm / global;
    let a = values(clipped.get::<1>(model.w1.id).expect("clipped w1 grad"));
    let b = values(clipped.get::<2>(model.w2.id).expect("clipped w2 grad"));
    assert_close(&a, &A.map(|g| f64::from(g) * scale), "clipped a");
    assert_close(&b, &flat_b().iter().map(|&g| f64::from(g) * scale).collect::<Vec<_>>(), "clipped b");

    // Not per-tensor clipping, which would scale a by 2.5/3 and b by 2.5/4.
    assert!((f64::from(a[1]) - f64::from(A[1]) * max_norm / 3.0).abs() > 0.1, "a was clipped on its own");
    assert!((f64::from(b[1]) - f64::from(B[0][1]) * max_norm / 4.0).abs() > 0.1, "b was clipped on its own");

    // The clipped gradients together have exactly max_norm.
    let clipped_norm = a.iter().chain(&b).map(|&g| f64::from(g).powi(2)).sum::<f64>().sqrt();
    assert!((clipped_norm - max_norm).abs() < 1e-5, "clipped global norm {clipped_norm}");
    assert!(clipped.get::<1>(model.unused.id).is_none(), "clipping invented a gradient");
}

fn check_small_norm_is_unchanged(device: &Device) {
    let (model, grads) = gradients(device, &A, &flat_b());
    let (clipped, norm) = clip_global_norm(grads, &model, 10.0);
    assert!((f64::from(values(norm)[0]) - 5.0).abs() < 1e-6, "returned norm is the unclipped 5");
    assert_eq!(values(clipped.get::<1>(model.w1.id).expect("w1 grad")), A.to_vec(), "a changed");
    assert_eq!(values(clipped.get::<2>(model.w2.id).expect("w2 grad")), flat_b(), "b changed");
}

fn check_zero_gradients_pass_unchanged(device: &Device) {
    // max_norm / 0 is infinite and must be clamped to a scale of 1, not turned into NaN.
    let (model, grads) = gradients(device, &[0.0; 3], &[0.0; 4]);
    let (clipped, norm) = clip_global_norm(grads, &model, 1.0);
    assert_eq!(values(norm), vec![0.0], "zero gradients have norm 0");
    assert_eq!(values(clipped.get::<1>(model.w1.id).expect("w1 grad")), vec![0.0; 3]);
    assert_eq!(values(clipped.get::<2>(model.w2.id).expect("w2 grad")), vec![0.0; 4]);
}

fn flex() -> Device {
    device::select(DeviceSpec::Flex, THREADS).expect("flex device").device
}

fn libtorch_cpu() -> Device {
    device::select(DeviceSpec::Cpu, THREADS).expect("libtorch CPU device").device
}

#[test]
fn large_norm_is_scaled_globally_on_flex() {
    check_large_norm_is_scaled_globally(&flex());
}

#[test]
fn large_norm_is_scaled_globally_on_libtorch_cpu() {
    check_large_norm_is_scaled_globally(&libtorch_cpu());
}

#[test]
fn small_norm_is_unchanged_on_flex() {
    check_small_norm_is_unchanged(&flex());
}

#[test]
fn small_norm_is_unchanged_on_libtorch_cpu() {
    check_small_norm_is_unchanged(&libtorch_cpu());
}

#[test]
fn zero_gradients_pass_unchanged_on_flex() {
    check_zero_gradients_pass_unchanged(&flex());
}

#[test]
fn zero_gradients_pass_unchanged_on_libtorch_cpu() {
    check_zero_gradients_pass_unchanged(&libtorch_cpu());
}
