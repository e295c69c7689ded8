//! The seed's optimisation step: Keras's Adam and TensorFlow's `clip_by_global_norm`.
//!
//! burn's `Adam` adds epsilon to the bias-corrected sqrt(v_hat) (PyTorch's convention); Keras adds
//! it to the uncorrected sqrt(v) and folds the bias corrections into the step size:
//! `theta -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)`. With eps = 1e-7 the two differ
//! most in the first steps, when sqrt(1 - b2^t) is small, so we implement Keras's rule. burn's
//! `GradientClipping::Norm` clips each tensor separately; the seed scales all gradients together by
//! `min(1, max_norm / global_norm)`.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{
    GradientsParams, LearningRate, ModuleOptimizer, Optimizer, RecordState, StateSink, StateSource,
};
use burn::tensor::{Device, Tensor};
use burn_pack::Scalar;

/// Adam exactly as `tf.keras.optimizers.Adam` computes it.
#[derive(Debug, Clone)]
pub struct KerasAdam {
    beta1: f64,
    beta2: f64,
    epsilon: f64,
}

impl KerasAdam {
    /// An optimizer for every parameter of a module, with these moments and epsilon.
    pub fn module_optimizer(beta1: f64, beta2: f64, epsilon: f64) -> ModuleOptimizer {
        ModuleOptimizer::from(Self { beta1, beta2, epsilon })
    }
}

/// Per-tensor state: step count and the two moment estimates.
#[derive(Debug, Clone)]
pub struct KerasAdamState<const D: usize> {
    time: u64,
    m: Tensor<D>,
    v: Tensor<D>,
}

impl Optimizer for KerasAdam {
    type State<const D: usize> = KerasAdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (b1, b2) = (self.beta1, self.beta2);
        let state = match state {
            Some(s) => KerasAdamState {
                time: s.time + 1,
                m: s.m.mul_scalar(b1).add(grad.clone().mul_scalar(1.0 - b1)),
                v: s.v.mul_scalar(b2).add(grad.square().mul_scalar(1.0 - b2)),
            },
            None => KerasAdamState {
                time: 1,
                m: grad.clone().mul_scalar(1.0 - b1),
                v: grad.square().mul_scalar(1.0 - b2),
            },
        };
        let t = i32::try_from(state.time).unwrap_or(i32::MAX);
        let step_size = lr * (1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t));
        let delta = state.m.clone().div(state.v.clone().sqrt().add_scalar(self.epsilon));
        (tensor - delta.mul_scalar(step_size), Some(state))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        KerasAdamState { time: state.time, m: state.m.to_device(device), v: state.v.to_device(device) }
    }
}

impl<const D: usize> RecordState for KerasAdamState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_scalar(prefix, "time", Scalar::UInt(self.time));
        out.push_tensor(prefix, "m", self.m.clone().into_data());
        out.push_tensor(prefix, "v", self.v.clone().into_data());
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let time = match src.take_scalar(prefix, "time")? {
            Scalar::UInt(t) => t,
            Scalar::Int(t) => u64::try_from(t).ok()?,
            _ => return None,
        };
        let m = Tensor::from_data(src.take_tensor(prefix, "m")?, device);
        let v = Tensor::from_data(src.take_tensor(prefix, "v")?, device);
        Some(Self { time, m, v })
    }
}

/// Scales every gradient by `min(1, max_norm / global_norm)` as `tf.clip_by_global_norm` does.
/// The scale stays a device tensor, so clipping adds no host synchronisation to the step; the
/// global norm is returned as a tensor for whoever wants to log it.
pub fn clip_global_norm<M: Module>(
    grads: GradientsParams,
    model: &M,
    max_norm: f64,
) -> (GradientsParams, Tensor<1>) {
    let mut squares = SumSquares { grads: &grads, total: None };
    model.visit(&mut squares);
    let norm = squares.total.expect("a PixelCNN has parameters").sqrt();
    // max_norm / 0 is +inf, clamped to 1: zero gradients pass unchanged, as in TensorFlow.
    let scale = norm.clone().recip().mul_scalar(max_norm).clamp_max(1.0);
    let mut scaler = Scale { grads, scale };
    model.visit(&mut scaler);
    (scaler.grads, norm)
}

struct SumSquares<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SumSquares<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let sq = g.square().sum();
            self.total = Some(match self.total.take() {
                Some(t) => t + sq,
                None => sq,
            });
        }
    }
}

struct Scale {
    grads: GradientsParams,
    scale: Tensor<1>,
}

impl ModuleVisitor for Scale {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            let scale = self.scale.clone().reshape([1; D]);
            self.grads.register::<D>(param.id, g * scale);
        }
    }
}
