//! Seeded synthetic images with photo-like content (smooth gradients,
//! shaded shapes, lines, grain) and the transformations an abuser applies
//! to evade a hash list: re-encoding, resizing, a small crop, a mirror.

use accord_pdq::image::codecs::jpeg::JpegEncoder;
use accord_pdq::image::imageops::{self, FilterType};
use accord_pdq::image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use std::io::Cursor;

/// A `width × height` image drawn from `seed`.
pub fn synthetic(seed: u64, width: u32, height: u32) -> RgbImage {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut colour = || [rng.f32() * 255.0, rng.f32() * 255.0, rng.f32() * 255.0];
    let (top, bottom, side) = (colour(), colour(), colour());
    let mut img = RgbImage::from_fn(width, height, |x, y| {
        let (u, v) = (x as f32 / width as f32, y as f32 / height as f32);
        Rgb(std::array::from_fn(|c| {
            let base = top[c] * (1.0 - v) + bottom[c] * v;
            (base * (1.0 - 0.4 * u) + side[c] * 0.4 * u).clamp(0.0, 255.0) as u8
        }))
    });
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed);
    let (w, h) = (width as f32, height as f32);
    for _ in 0..(6 + rng.usize(0..6)) {
        let (cx, cy) = (rng.f32() * w, rng.f32() * h);
        let (rx, ry) = (w * (0.05 + rng.f32() * 0.25), h * (0.05 + rng.f32() * 0.25));
        let fill = [rng.f32() * 255.0, rng.f32() * 255.0, rng.f32() * 255.0];
        let round = rng.bool();
        for y in ((cy - ry).max(0.0) as u32)..((cy + ry).min(h) as u32) {
            for x in ((cx - rx).max(0.0) as u32)..((cx + rx).min(w) as u32) {
                let (dx, dy) = ((x as f32 - cx) / rx, (y as f32 - cy) / ry);
                let d = if round { dx * dx + dy * dy } else { dx.abs().max(dy.abs()) };
                if d <= 1.0 {
                    // Shaded: lighter towards the top left, as if lit.
                    let shade = 0.75 + 0.25 * (1.0 - (dx + dy + 2.0) / 4.0);
                    img.put_pixel(x, y, Rgb(std::array::from_fn(|c| (fill[c] * shade).clamp(0.0, 255.0) as u8)));
                }
            }
        }
    }
    for _ in 0..(3 + rng.usize(0..4)) {
        let (x0, y0, x1, y1) = (rng.f32() * w, rng.f32() * h, rng.f32() * w, rng.f32() * h);
        let ink = Rgb([rng.u8(..), rng.u8(..), rng.u8(..)]);
        let steps = (x1 - x0).abs().max((y1 - y0).abs()) as u32 + 1;
        for i in 0..steps {
            let t = i as f32 / steps as f32;
            let (x, y) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
            for k in 0..3 {
                let (px, py) = (x as u32 + k, y as u32);
                if px < width && py < height {
                    img.put_pixel(px, py, ink);
                }
            }
        }
    }
    // Sensor grain.
    for p in img.pixels_mut() {
        let n = rng.i32(-6..=6);
        for c in p.0.iter_mut() {
            *c = (*c as i32 + n).clamp(0, 255) as u8;
        }
    }
    img
}

/// PNG bytes of an image (lossless).
pub fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img.clone()).write_to(&mut out, ImageFormat::Png).expect("PNG encodes");
    out.into_inner()
}

/// JPEG bytes of an image at `quality` (1–100).
pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality).encode_image(img).expect("JPEG encodes");
    out
}

/// The image scaled by `factor`.
pub fn resized(img: &RgbImage, factor: f32) -> RgbImage {
    let (w, h) = ((img.width() as f32 * factor) as u32, (img.height() as f32 * factor) as u32);
    imageops::resize(img, w, h, FilterType::Triangle)
}

/// The image with `fraction` of its width and height cut off, half on each
/// side.
pub fn cropped(img: &RgbImage, fraction: f32) -> RgbImage {
    let (dx, dy) = ((img.width() as f32 * fraction / 2.0) as u32, (img.height() as f32 * fraction / 2.0) as u32);
    imageops::crop_imm(img, dx, dy, img.width() - 2 * dx, img.height() - 2 * dy).to_image()
}

/// The image mirrored left to right.
pub fn mirrored(img: &RgbImage) -> RgbImage {
    imageops::flip_horizontal(img)
}
