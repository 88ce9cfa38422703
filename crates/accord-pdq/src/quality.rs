//! PDQ's quality score on Meta's scale.
//!
//! The `pdqhash` crate computes the quality in floating point, which
//! rates smooth images far higher than Meta's reference (whose gradient sum
//! truncates each difference to a whole percentage: 100 here where Meta
//! says 60). The 50-point threshold below which a hash is too weak to act
//! on is Meta's, so the score is computed here as Meta defines it, from
//! the same 64×64 image the hash is computed from:
//!
//! 1. luminance `0.299 R + 0.587 G + 0.114 B`;
//! 2. two passes of a box filter along rows then columns (a Jarosz tent
//!    filter), the box `⌊(n + 127) / 128⌋` pixels wide for a side of `n`,
//!    output `i` the mean of inputs `i − (w − h)` to `i + h − 1` (clipped to
//!    the image), with `h = ⌊(w + 2) / 2⌋`;
//! 3. decimation to 64×64, sample `(i, j)` taken at row `⌊(2i + 1) n / 128⌋`
//!    and column `⌊(2j + 1) m / 128⌋`;
//! 4. the sum, over vertically and horizontally adjacent samples, of
//!    `|trunc(100 (u − v) / 255)|`, divided by 90 (whole division) and
//!    capped at 100.

/// Meta's quality score of `width × height` RGB pixels (row by row).
pub(crate) fn meta_quality(width: usize, height: usize, rgb: &[u8]) -> u8 {
    let mut luma: Vec<f32> = rgb
        .chunks_exact(3)
        .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
        .collect();
    let (wx, wy) = (window(width), window(height));
    let mut line = Vec::new();
    let mut out = Vec::new();
    for _ in 0..2 {
        for row in 0..height {
            line.clear();
            line.extend_from_slice(&luma[row * width..(row + 1) * width]);
            boxed(&line, wx, &mut out);
            luma[row * width..(row + 1) * width].copy_from_slice(&out);
        }
        for col in 0..width {
            line.clear();
            line.extend((0..height).map(|row| luma[row * width + col]));
            boxed(&line, wy, &mut out);
            for (row, v) in out.iter().enumerate() {
                luma[row * width + col] = *v;
            }
        }
    }
    let sample = |i: usize, j: usize| luma[((2 * i + 1) * height / 128) * width + (2 * j + 1) * width / 128];
    let grid: Vec<[f32; 64]> = (0..64).map(|i| std::array::from_fn(|j| sample(i, j))).collect();
    let step = |u: f32, v: f32| (((u - v) * 100.0) / 255.0).trunc().abs() as u32;
    let mut sum = 0u32;
    for pair in grid.windows(2) {
        for (u, v) in pair[0].iter().zip(&pair[1]) {
            sum += step(*u, *v);
        }
    }
    for row in &grid {
        for pair in row.windows(2) {
            sum += step(pair[0], pair[1]);
        }
    }
    (sum / 90).min(100) as u8
}

/// The box width for a side of `n` pixels brought down to 64.
fn window(n: usize) -> usize {
    n.div_ceil(128).max(1)
}

/// `out[i]` = the mean of `input[i − (w − h) ..= i + h − 1]`, clipped.
fn boxed(input: &[f32], w: usize, out: &mut Vec<f32>) {
    let half = (w + 2) / 2;
    let n = input.len();
    out.clear();
    let mut sum = 0.0f32;
    let (mut lo, mut hi) = (0usize, 0usize);
    for i in 0..n {
        let want_lo = i.saturating_sub(w - half);
        let want_hi = (i + half).min(n);
        while hi < want_hi {
            sum += input[hi];
            hi += 1;
        }
        while lo < want_lo {
            sum -= input[lo];
            lo += 1;
        }
        out.push(sum / (hi - lo) as f32);
    }
}
