//! Range checks that serde's types cannot express (levels, devices and samplers are types of their
//! own, checked while the configuration is read). Run before anything trains or is written, so a
//! bad value costs nothing.

use crate::run::{Condition, ModelFamily, RunConfig};

/// One violated rule: the dotted key and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Dotted key, e.g. `model.levels`.
    pub key: &'static str,
    /// What the value must be.
    pub message: String,
}

/// Every rule a run configuration must satisfy; empty when the configuration is usable.
pub fn violations(config: &RunConfig) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut check = |ok: bool, key: &'static str, message: String| {
        if !ok {
            out.push(Violation { key, message });
        }
    };
    let (m, t, s) = (&config.model, &config.train, &config.sample);
    check(m.blocks >= 1, "model.blocks", "must be at least 1".into());
    check(m.hidden >= 1, "model.hidden", "must be at least 1".into());
    // Kernels are centred on the current pixel and need at least one pixel before it.
    let mut odd_kernel = |kernel: usize, key: &'static str, why: &str| {
        check(kernel >= 3 && kernel % 2 == 1, key, format!("{kernel} must be odd and at least 3 ({why})"));
    };
    odd_kernel(m.first_kernel, "model.first_kernel", "a mask-A kernel needs a past");
    odd_kernel(m.gated.kernel, "model.gated.kernel", "the first layer needs a pixel to its left");
    let g = &m.gated;
    check(g.layers >= 1, "model.gated.layers", "must be at least 1".into());
    check(g.channels >= 1, "model.gated.channels", "must be at least 1".into());
    check(
        m.condition == Condition::None || m.family == ModelFamily::Gated,
        "model.condition",
        format!(
            "\"{}\" needs model.family = \"gated\" (the seed's PixelCNN has no conditional form)",
            m.condition.as_str()
        ),
    );
    check(t.epochs >= 1, "train.epochs", "must be at least 1".into());
    check(t.batch_size >= 1, "train.batch_size", "must be at least 1".into());
    check(t.lr > 0.0 && t.lr.is_finite(), "train.lr", format!("{} must be a positive number", t.lr));
    check(
        t.lr_decay > 0.0 && t.lr_decay <= 1.0,
        "train.lr_decay",
        format!("{} is outside (0, 1]", t.lr_decay),
    );
    check((0.0..1.0).contains(&t.beta1), "train.beta1", format!("{} is outside [0, 1)", t.beta1));
    check((0.0..1.0).contains(&t.beta2), "train.beta2", format!("{} is outside [0, 1)", t.beta2));
    check(t.epsilon > 0.0, "train.epsilon", format!("{} must be positive", t.epsilon));
    check(t.clip_norm > 0.0, "train.clip_norm", format!("{} must be positive", t.clip_norm));
    check(
        s.count % 10 == 0 || s.count < 10,
        "sample.count",
        format!("{} must be below 10 or a multiple of 10 (the grid has 10 per row)", s.count),
    );
    check(s.occlude_from_row < 28, "sample.occlude_from_row", "must be below 28".into());
    check(config.checkpoint.keep_last >= 1, "checkpoint.keep_last", "must be at least 1 to resume".into());
    check(
        config.data.train_limit != Some(0),
        "data.train_limit",
        "must be at least 1 (omit it to use every image)".into(),
    );
    check(
        config.data.test_limit != Some(0),
        "data.test_limit",
        "must be at least 1 (omit it to use every image)".into(),
    );
    out.extend(crate::limits::size_violations(config, &crate::limits::Machine::this()));
    out
}
