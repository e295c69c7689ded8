//! Exact likelihood of a model over a whole split: summed NLL over every pixel divided by the
//! number of pixels (the seed averaged batch means, which over-weights a smaller last batch). A
//! label-conditional model is evaluated given each image's label: its NLL is `-log p(x | class)`.

use burn::tensor::Device;
use pixelcnn_data::QuantisedSplit;
use pixelcnn_model::{Model, nll_sum};

/// Mean NLL in nats per pixel of `model` (an inference copy) over every image of `split`.
pub fn mean_nll(model: &Model, split: &QuantisedSplit, batch_size: usize, device: &Device) -> f64 {
    let indices: Vec<usize> = (0..split.len()).collect();
    let total: f64 = indices
        .chunks(batch_size)
        .map(|chunk| {
            let batch = split.batch(chunk, device);
            f64::from(
                nll_sum(model.forward(batch.inputs, Some(batch.labels)), batch.targets).into_scalar::<f32>(),
            )
        })
        .sum();
    let (h, w) = split.shape();
    total / (split.len() * h * w) as f64
}
