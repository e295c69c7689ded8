//! The receptive field of each family, read off gradients: for every pixel `p` of an image, the
//! gradient of the logits at `p` with respect to every input pixel `k`. A correct autoregressive
//! model has an exactly zero gradient at every `k >= p` (in raster order), for every input. The
//! gated PixelCNN, given enough layers for the image, has a non-zero gradient at every `k < p` for
//! some input (a batch of random images: for one image, the head's ReLUs may happen to cut every
//! path at a pixel): it sees every earlier pixel. The seed's PixelCNN, however deep, never sees the
//! pixels above and to the right that its masked convolutions cannot reach, for any input: its
//! blind spot, which the same test exhibits. On flex (burn's operations) and, built with the `tch`
//! feature, on libtorch (where the gated layers run as one native step).

use std::sync::Mutex;

use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use pixelcnn_model::{GatedPixelCnnConfig, Model, ModelConfig, PixelCnnConfig};

/// A backend's random generator is one per process (flex keeps it in a global), and the tests of
/// this file run in parallel threads: seeding and drawing (the weights too, which burn draws at
/// their first use) happen under this lock, so that each test draws the weights and images its
/// seed names, whatever runs beside it.
static SEEDED_DRAWS: Mutex<()> = Mutex::new(());

const HEIGHT: usize = 5;
const WIDTH: usize = 6;
/// Random images the gradients are taken for.
const IMAGES: usize = 8;

/// The gradient of a fixed random mix of the `q` logits at pixel `p` (raster index) with respect
/// to each input pixel, `[IMAGES, HEIGHT * WIDTH]`, for each of `images` (`[IMAGES, 1, HEIGHT,
/// WIDTH]`; of the classes 0, 1, ... for a conditional model). Images do not mix in the model, so
/// the gradient of the sum over images is each image's own.
fn input_gradients(model: &Model, images: &Tensor<4>, p: usize) -> Vec<f32> {
    let q = model.levels();
    let device = model.device();
    let (row, col) = (p / WIDTH, p % WIDTH);
    let input = images.clone().require_grad();
    let classes: Vec<i64> = (0..IMAGES as i64).collect();
    let labels =
        model.classes().map(|_| Tensor::<1, Int>::from_data(TensorData::new(classes, [IMAGES]), &device));
    let logits = model.forward(input.clone(), labels).slice([0..IMAGES, 0..q, row..row + 1, col..col + 1]);
    let mix: Vec<f32> = (0..q).map(|level| 1.0 + 0.37 * level as f32).collect();
    let mix = Tensor::<4>::from_data(TensorData::new(mix, [1, q, 1, 1]), &device);
    let grads = (logits * mix).sum().backward();
    input.grad(&grads).expect("input gradient").try_into_vec_as::<f32>().expect("f32 gradients")
}

/// The autodiff devices of this build: flex, and libtorch CPU with the `tch` feature.
fn devices() -> Vec<Device> {
    #[allow(unused_mut)]
    let mut devices = vec![Device::flex().autodiff()];
    #[cfg(feature = "tch")]
    #[allow(deprecated)] // burn 0.22 marks its libtorch device deprecated; it is our main backend
    devices.push(Device::libtorch().autodiff());
    devices
}

/// For every pixel `p`, the earlier pixels `k < p` whose gradient is exactly zero for every image,
/// after checking that every later pixel's (and `p`'s own) is exactly zero for every image.
fn unseen_earlier_pixels(config: &ModelConfig, seed: u64, device: &Device) -> Vec<Vec<usize>> {
    let (model, images) = {
        let _draws = SEEDED_DRAWS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        device.seed(seed);
        let model = config.init(device);
        let images = Tensor::<4>::random([IMAGES, 1, HEIGHT, WIDTH], Distribution::Uniform(0.0, 1.0), device);
        // burn draws a parameter's values lazily, at its first use: use them all here, under the lock.
        input_gradients(&model, &images, 0);
        (model, images)
    };
    let pixels = HEIGHT * WIDTH;
    (0..pixels)
        .map(|p| {
            let gradients = input_gradients(&model, &images, p);
            for (index, g) in gradients.iter().enumerate() {
                let k = index % pixels;
                assert!(k < p || *g == 0.0, "the logits at pixel {p} depend on pixel {k}, not before it");
            }
            (0..p).filter(|&k| gradients.iter().skip(k).step_by(pixels).all(|g| *g == 0.0)).collect()
        })
        .collect()
}

fn gated(layers: usize, kernel: usize, classes: Option<usize>) -> ModelConfig {
    ModelConfig::Gated(
        GatedPixelCnnConfig::new(4)
            .with_layers(layers)
            .with_channels(6)
            .with_kernel(kernel)
            .with_classes(classes),
    )
}

#[test]
fn the_gated_pixelcnn_sees_every_earlier_pixel() {
    // Kernel 3 reaches one more column per layer; kernel 5 two: 5 and 3 layers cover 5 x 6 images.
    for device in devices() {
        for (config, seed) in [(gated(5, 3, None), 1), (gated(3, 5, None), 2), (gated(5, 3, Some(10)), 3)] {
            let unseen = unseen_earlier_pixels(&config, seed, &device);
            for (p, pixels) in unseen.iter().enumerate() {
                assert!(
                    pixels.is_empty(),
                    "{device:?} seed {seed}: pixel {p} does not see pixels {pixels:?}"
                );
            }
        }
    }
}

/// The pixels the seed's PixelCNN (3x3 mask-A input convolution, 3x3 mask-B blocks) cannot see
/// from `(row, col)`: `d` rows above, those more than `d` columns to the right. A mask-B
/// convolution never reaches right of the centre in the centre row, so a path can gain one column
/// to the right only by going one row up.
fn blind_spot(p: usize) -> Vec<usize> {
    let (row, col) = (p / WIDTH, p % WIDTH);
    (0..p).filter(|&k| k / WIDTH < row && k % WIDTH > col + (row - k / WIDTH)).collect()
}

#[test]
fn the_seed_pixelcnn_has_a_blind_spot_however_deep() {
    // Six blocks reach every other earlier pixel of a 5 x 6 image; eight see no further.
    for device in devices() {
        for (blocks, seed) in [(6, 4), (8, 5)] {
            let config = ModelConfig::PixelCnn(
                PixelCnnConfig::new(4).with_blocks(blocks).with_hidden(4).with_first_kernel(3),
            );
            let unseen = unseen_earlier_pixels(&config, seed, &device);
            for (p, pixels) in unseen.iter().enumerate() {
                assert_eq!(*pixels, blind_spot(p), "{device:?}, {blocks} blocks: the unseen pixels of {p}");
            }
            // E.g. from (2, 1): (1, 3..6) and (0, 4..6).
            assert_eq!(unseen[2 * WIDTH + 1], [4, 5, WIDTH + 3, WIDTH + 4, WIDTH + 5]);
        }
    }
}
