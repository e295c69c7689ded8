//! Sample pictures as PNG: grey value level / (q - 1), black = 0, white = q - 1, each image scaled
//! up so that a 28x28 digit is readable on screen.

use image::{GrayImage, ImageFormat, Luma};

const SCALE: u32 = 2;
const GAP: u32 = 2;
const GAP_GREY: u8 = 96;

/// Renders `levels` (`n` images of `height x width`, row-major) as a grid with `per_row` images per row.
pub fn grid_png(levels: &[u8], [n, height, width]: [usize; 3], q: usize, per_row: usize) -> Vec<u8> {
    let rows = n.div_ceil(per_row.max(1)) as u32;
    let cols = per_row.min(n).max(1) as u32;
    let (h, w) = (height as u32, width as u32);
    let cell = |size: u32| size * SCALE + GAP;
    let mut img = GrayImage::from_pixel(GAP + cols * cell(w), GAP + rows * cell(h), Luma([GAP_GREY]));
    let max = (q - 1) as f32;
    for (i, image) in levels.chunks(height * width).take(n).enumerate() {
        let (r, c) = ((i / per_row) as u32, (i % per_row) as u32);
        let (x0, y0) = (GAP + c * cell(w), GAP + r * cell(h));
        for (p, &level) in image.iter().enumerate() {
            let grey = (f32::from(level) / max * 255.0).round() as u8;
            let (y, x) = (p as u32 / w, p as u32 % w);
            for dy in 0..SCALE {
                for dx in 0..SCALE {
                    img.put_pixel(x0 + x * SCALE + dx, y0 + y * SCALE + dy, Luma([grey]));
                }
            }
        }
    }
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).expect("encoding a PNG in memory");
    out.into_inner()
}
