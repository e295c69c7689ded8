//! The seed's naive sampler: one full forward pass per generated pixel, in raster order.
//!
//! Draws come from a caller-provided RNG, never from a backend's global RNG, so that a seed gives
//! the same images on every backend (up to the backends' floating-point differences in the logits)
//! and the cached sampler reproduces them, except where a draw falls within rounding of a class
//! boundary. The draw order is fixed: for each
//! generated pixel in raster order, for each image in batch order, one `rng.random::<f64>()`,
//! turned into a level by [`draw_level`].
//!
//! A label-conditional model draws each image from its class, given per image (`labels`); the
//! others take no labels.

use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData};
use rand::Rng;

use crate::family::Model;

/// Completes images whose rows from `start_row` on are unknown (the seed's occlusion filling).
///
/// `images` holds levels in `0..q`, `[n, height, width]` row-major (`dims`), and `labels` their
/// classes (required by a conditional model, ignored by the others). Rows before `start_row` are
/// kept; the rest are zeroed like the seed does, then generated pixel by pixel from
/// `(start_row, 0)` to the end, each from the model's softmax at that pixel given every pixel
/// before it. The model's inference copy (`valid()`) is used, so an autodiff model is fine.
///
/// # Panics
/// If `images` does not have `n * height * width` levels, a level is `>= q`, `start_row > height`,
/// a conditional model lacks a label below its number of classes for each image, or the logits
/// cannot be read back from the device.
pub fn complete(
    model: &Model,
    images: &[u8],
    labels: Option<&[u8]>,
    dims: [usize; 3],
    start_row: usize,
    rng: &mut impl Rng,
) -> Vec<u8> {
    let [_, height, width] = dims;
    let pixels = height * width;
    let q = model.levels();
    check_inputs(model, images, labels, dims, start_row);

    let model = model.valid();
    let labels = label_tensor(&model, labels);
    let mut levels = images.to_vec();
    for image in levels.chunks_mut(pixels) {
        image[start_row * width..].fill(0);
    }
    for row in start_row..height {
        for col in 0..width {
            let logits = pixel_logits(&model, &levels, labels.clone(), dims, row, col);
            for (image, image_logits) in levels.chunks_mut(pixels).zip(logits.chunks(q)) {
                image[row * width + col] = draw_level(image_logits, rng.random::<f64>());
            }
        }
    }
    levels
}

/// The samplers' argument checks: `images` are `dims` (`[n, height, width]`) levels below `q`,
/// `start_row` is at most `height`, and a conditional model has a class below its number of
/// classes for each image.
pub(crate) fn check_inputs(
    model: &Model,
    images: &[u8],
    labels: Option<&[u8]>,
    [n, height, width]: [usize; 3],
    start_row: usize,
) {
    let q = model.levels();
    assert_eq!(images.len(), n * height * width, "images must be [n, height, width]");
    assert!(images.iter().all(|&level| usize::from(level) < q), "levels must be below q = {q}");
    assert!(start_row <= height, "start row {start_row} is past the last row {height}");
    if let Some(classes) = model.classes() {
        let labels = labels.expect("a label-conditional model needs a class for each image");
        assert_eq!(labels.len(), n, "one class per image");
        assert!(labels.iter().all(|&l| usize::from(l) < classes), "classes must be below {classes}");
    }
}

/// The classes of a conditional model's images as the model takes them, `[n]`; `None` for other
/// models.
fn label_tensor(model: &Model, labels: Option<&[u8]>) -> Option<Tensor<1, Int>> {
    model.classes()?;
    let labels: Vec<i64> = labels?.iter().map(|&l| i64::from(l)).collect();
    let n = labels.len();
    Some(Tensor::from_data(TensorData::new(labels, [n]), &model.device()))
}

/// Runs `model` on the batch `levels` (`[n, height, width]`, fed as `level / (q - 1)` like the
/// seed) of the classes `labels` and reads back the logits of pixel `(row, col)`: `n * q` values,
/// image-major.
fn pixel_logits(
    model: &Model,
    levels: &[u8],
    labels: Option<Tensor<1, Int>>,
    [n, height, width]: [usize; 3],
    row: usize,
    col: usize,
) -> Vec<f32> {
    let q = model.levels();
    let top = (q - 1) as f32;
    let values: Vec<f32> = levels.iter().map(|&l| f32::from(l) / top).collect();
    let input = Tensor::<4>::from_data(TensorData::new(values, [n, 1, height, width]), &model.device());
    model
        .forward(input, labels)
        .slice([0..n, 0..q, row..row + 1, col..col + 1])
        .try_into_vec_as::<f32>()
        .expect("reading the logits back from the device")
}

/// Turns one pixel's logits and a uniform `u` in `[0, 1)` into a level, by inverse CDF.
///
/// Computed on the host in `f64`: weights `exp(x_l - max)` (`p_l = weight_l / sum`), then the first level whose
/// cumulative weight exceeds `u * sum`. Levels of zero probability are never drawn.
pub fn draw_level(logits: &[f32], u: f64) -> u8 {
    let max = f64::from(logits.iter().copied().fold(f32::NEG_INFINITY, f32::max));
    let weights: Vec<f64> = logits.iter().map(|&x| (f64::from(x) - max).exp()).collect();
    let target = u * weights.iter().sum::<f64>();
    let mut cumulative = 0.0;
    let mut last_possible = 0;
    for (level, weight) in weights.iter().enumerate() {
        if *weight > 0.0 {
            last_possible = level;
        }
        cumulative += weight;
        if cumulative > target {
            return level as u8;
        }
    }
    // Only reachable when rounding leaves `target` at the total.
    last_possible as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Draw;
    use crate::pixelcnn::PixelCnnConfig;
    use burn::tensor::Device;
    use pixelcnn_config::Sampler;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const Q: usize = 4;

    fn tiny() -> Model {
        PixelCnnConfig::new(Q).with_blocks(2).with_hidden(4).init(&Device::flex()).into()
    }

    #[test]
    fn draw_level_inverts_the_cdf() {
        // p = (1/4, 3/4).
        let logits = [0.0, 3.0f32.ln()];
        assert_eq!(draw_level(&logits, 0.0), 0);
        assert_eq!(draw_level(&logits, 0.2499), 0);
        assert_eq!(draw_level(&logits, 0.2501), 1);
        assert_eq!(draw_level(&logits, 0.9999), 1);
        // Zero-probability levels are never drawn, at either end.
        assert_eq!(draw_level(&[-1e4, 0.0, -1e4], 0.0), 1);
        assert_eq!(draw_level(&[-1e4, 0.0, -1e4], 1.0 - f64::EPSILON), 1);
    }

    #[test]
    fn samples_have_the_shape_and_range_asked_for() {
        let model = tiny();
        let images = Sampler::Naive.sample(&model, [3, 5, 4], None, &mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(images.len(), 3 * 5 * 4);
        assert!(images.iter().all(|&level| usize::from(level) < Q));
    }

    #[test]
    fn same_seed_gives_same_samples() {
        let model = tiny();
        let draw =
            |seed| Sampler::Naive.sample(&model, [2, 4, 4], None, &mut ChaCha8Rng::seed_from_u64(seed));
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn completion_keeps_the_rows_before_start() {
        let model = tiny();
        let dims = [2, 6, 5];
        let images: Vec<u8> = (0..60).map(|i| (i * 3 % Q) as u8).collect();
        let start_row = 3;
        let completed = complete(&model, &images, None, dims, start_row, &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(completed.len(), images.len());
        for (before, after) in images.chunks(30).zip(completed.chunks(30)) {
            assert_eq!(before[..start_row * 5], after[..start_row * 5]);
        }
        assert!(completed.iter().all(|&level| usize::from(level) < Q));
    }

    /// The sampler uses the model's inference copy, so a model still on an autodiff device works.
    #[test]
    fn sampling_accepts_an_autodiff_model() {
        let model = Model::from(
            PixelCnnConfig::new(Q).with_blocks(1).with_hidden(2).init(&Device::flex().autodiff()),
        );
        let images = Sampler::Naive.sample(&model, [1, 3, 3], None, &mut ChaCha8Rng::seed_from_u64(5));
        assert_eq!(images.len(), 9);
    }
}
