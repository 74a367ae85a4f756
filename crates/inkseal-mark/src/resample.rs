//! Luma extraction, separable resampling and box filters on `f32` planes.

use ndarray::Array2;

use crate::pixels::{ImageRef, PixelLayout};
use crate::pool;

/// BT.601 luma of an 8-bit image, as a `height x width` plane.
#[cfg(test)]
pub(crate) fn luma(img: &ImageRef<'_>) -> Array2<f32> {
    let (w, h) = (img.width as usize, img.height as usize);
    let ch = img.layout.channels();
    let mut out = Array2::<f32>::zeros((h, w));
    for (dst, px) in out.iter_mut().zip(img.data.chunks_exact(ch)) {
        *dst = match img.layout {
            PixelLayout::Gray8 => px[0] as f32,
            _ => 0.299 * px[0] as f32 + 0.587 * px[1] as f32 + 0.114 * px[2] as f32,
        };
    }
    out
}

/// Filter taps for resampling a line of `src_len` samples to `dst_len`, where output sample
/// `j` sits at input coordinate `(j + 0.5) / scale - 0.5`. A triangle kernel widened by the
/// reduction factor when shrinking (area-like, anti-aliased), plain linear when enlarging.
fn taps(src_len: usize, dst_len: usize, scale: f64) -> Vec<(usize, Vec<f32>)> {
    let support = (1.0 / scale).max(1.0);
    (0..dst_len)
        .map(|j| {
            let centre = (j as f64 + 0.5) / scale - 0.5;
            let lo = ((centre - support).floor() as isize + 1).max(0) as usize;
            let hi = ((centre + support).ceil() as isize).min(src_len as isize - 1);
            let hi = if hi < lo as isize { lo } else { hi as usize };
            let mut weights: Vec<f32> = (lo..=hi)
                .map(|i| (1.0 - ((i as f64 - centre).abs() / support)).max(0.0) as f32)
                .collect();
            let sum: f32 = weights.iter().sum();
            if sum > 0.0 {
                weights.iter_mut().for_each(|w| *w /= sum);
            } else {
                // The centre lies outside the source: use the nearest edge sample.
                weights.iter_mut().for_each(|w| *w = 0.0);
                weights[0] = 1.0;
            }
            (lo.min(src_len - 1), weights)
        })
        .collect()
}

/// Resamples `src` by `scale` (same on both axes) into an `out_h x out_w` plane.
#[cfg(test)]
pub(crate) fn resample(src: &Array2<f32>, scale: f64, out_h: usize, out_w: usize) -> Array2<f32> {
    let (h, w) = src.dim();
    resample_rows(h, w, scale, out_h, out_w, |r, row| {
        row.iter_mut().zip(src.row(r)).for_each(|(d, s)| *d = *s);
    })
}

/// The BT.601 luma of `img` resampled by `scale` into an `out_h x out_w` plane, without ever
/// holding a full-resolution plane: memory is `height x out_w`, not `height x width`.
pub(crate) fn resample_luma(
    img: &ImageRef<'_>,
    scale: f64,
    out_h: usize,
    out_w: usize,
) -> Array2<f32> {
    let (w, h) = (img.width as usize, img.height as usize);
    let ch = img.layout.channels();
    resample_rows(h, w, scale, out_h, out_w, |r, row| {
        let px = &img.data[r * w * ch..(r + 1) * w * ch];
        for (d, p) in row.iter_mut().zip(px.chunks_exact(ch)) {
            *d = match img.layout {
                PixelLayout::Gray8 => p[0] as f32,
                _ => 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32,
            };
        }
    })
}

/// Separable resampling of an `h x w` plane whose rows `row_of(r, buffer)` fills on demand.
fn resample_rows(
    h: usize,
    w: usize,
    scale: f64,
    out_h: usize,
    out_w: usize,
    mut row_of: impl FnMut(usize, &mut [f32]),
) -> Array2<f32> {
    let tx = taps(w, out_w, scale);
    let ty = taps(h, out_h, scale);
    // Horizontal pass, one source row at a time.
    let mut mid = pool::zeros(h, out_w);
    let mut src_row = vec![0f32; w];
    for (r, mut mid_row) in mid.rows_mut().into_iter().enumerate() {
        row_of(r, &mut src_row);
        for (dst, (start, weights)) in mid_row.iter_mut().zip(&tx) {
            *dst = weights
                .iter()
                .enumerate()
                .map(|(k, wt)| wt * src_row[(start + k).min(w - 1)])
                .sum();
        }
    }
    // Vertical pass.
    let mut out = pool::zeros(out_h, out_w);
    for (mut out_row, (start, weights)) in out.rows_mut().into_iter().zip(&ty) {
        for (k, wt) in weights.iter().enumerate() {
            let r = mid.row((start + k).min(h - 1));
            out_row.zip_mut_with(&r, |o, v| *o += wt * v);
        }
    }
    pool::give_plane(mid);
    out
}

/// The mean over a clipped `2r + 1` window along one row, from prefix sums in `f64`
/// (`prefix` holds at least `src.len() + 1` values).
pub(crate) fn row_box_mean(src: &[f32], r: usize, prefix: &mut [f64], out: &mut [f32]) {
    let w = src.len();
    prefix[0] = 0.0;
    for (i, v) in src.iter().enumerate() {
        prefix[i + 1] = prefix[i] + *v as f64;
    }
    // Away from the ends every window holds 2r + 1 samples: one reciprocal serves them all.
    let full = 1.0 / (2 * r + 1) as f64;
    for (i, dst) in out.iter_mut().enumerate() {
        let lo = i.saturating_sub(r);
        let hi = (i + r + 1).min(w);
        let inv = if hi - lo == 2 * r + 1 {
            full
        } else {
            1.0 / (hi - lo) as f64
        };
        *dst = ((prefix[hi] - prefix[lo]) * inv) as f32;
    }
}

/// Mean over a `(2r+1) x (2r+1)` window, the window clipped at the borders.
pub(crate) fn box_mean(src: &Array2<f32>, r: usize) -> Array2<f32> {
    let (h, w) = src.dim();
    let mut mid = pool::zeros(h, w);
    let mut line = vec![0f64; w + 1];
    let mut row_in = vec![0f32; w];
    let mut row_out = vec![0f32; w];
    for (src_row, mut mid_row) in src.rows().into_iter().zip(mid.rows_mut()) {
        row_in.iter_mut().zip(src_row).for_each(|(d, s)| *d = *s);
        row_box_mean(&row_in, r, &mut line, &mut row_out);
        mid_row.iter_mut().zip(&row_out).for_each(|(d, s)| *d = *s);
    }
    // Vertical pass row by row (cache friendly): a running sum of the rows in the window.
    let mut out = pool::zeros(h, w);
    let mut sum = vec![0f64; w];
    let (mut lo, mut hi) = (0usize, 0usize); // rows [lo, hi) are in `sum`
    for (i, mut out_row) in out.rows_mut().into_iter().enumerate() {
        let (want_lo, want_hi) = (i.saturating_sub(r), (i + r + 1).min(h));
        while hi < want_hi {
            sum.iter_mut()
                .zip(mid.row(hi))
                .for_each(|(s, v)| *s += *v as f64);
            hi += 1;
        }
        while lo < want_lo {
            sum.iter_mut()
                .zip(mid.row(lo))
                .for_each(|(s, v)| *s -= *v as f64);
            lo += 1;
        }
        let inv = 1.0 / (hi - lo) as f64;
        out_row
            .iter_mut()
            .zip(&sum)
            .for_each(|(o, s)| *o = (s * inv) as f32);
    }
    pool::give_plane(mid);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_neighbouring_pairs_of_a_ramp() {
        let src = Array2::from_shape_fn((4, 8), |(_, c)| c as f32);
        let out = resample(&src, 0.5, 2, 4);
        // Output j sits at input 2j + 0.5: a linear ramp is preserved there.
        for c in 0..4 {
            assert!(
                (out[(0, c)] - (2.0 * c as f32 + 0.5)).abs() < 0.26,
                "{out:?}"
            );
        }
        assert!((out[(0, 1)] - 2.5).abs() < 1e-4);
    }

    #[test]
    fn enlarging_interpolates_linearly() {
        let src = Array2::from_shape_fn((2, 4), |(_, c)| (c * 10) as f32);
        let out = resample(&src, 2.0, 4, 8);
        // Output 3 sits at input 1.25 -> 12.5.
        assert!((out[(0, 3)] - 12.5).abs() < 1e-4);
    }

    #[test]
    fn streaming_luma_resample_equals_resampling_the_full_luma_plane() {
        let (w, h) = (37u32, 23u32);
        let data: Vec<u8> = (0..w * h * 3).map(|i| (i * 7919 % 251) as u8).collect();
        let img = match ImageRef::new(&data, w, h, PixelLayout::Rgb8) {
            Ok(i) => i,
            Err(e) => unreachable!("{e}"),
        };
        for (scale, oh, ow) in [(0.5, 12, 18), (1.7, 39, 63)] {
            let a = resample_luma(&img, scale, oh, ow);
            let b = resample(&luma(&img), scale, oh, ow);
            assert!(a.iter().zip(b.iter()).all(|(x, y)| (x - y).abs() < 1e-3));
        }
    }

    #[test]
    fn box_mean_of_constant_is_constant_and_of_impulse_spreads() {
        let c = Array2::from_elem((5, 7), 3.0f32);
        assert!(box_mean(&c, 2).iter().all(|v| (v - 3.0).abs() < 1e-5));
        let mut imp = Array2::<f32>::zeros((7, 7));
        imp[(3, 3)] = 9.0;
        let m = box_mean(&imp, 1);
        assert!((m[(3, 3)] - 1.0).abs() < 1e-5);
        assert!((m[(2, 4)] - 1.0).abs() < 1e-5);
        assert!(m[(0, 0)].abs() < 1e-6);
    }

    #[test]
    fn box_mean_matches_direct() {
        let src = Array2::from_shape_fn((37, 23), |(r, c)| ((r * 31 + c * 17) % 101) as f32);
        for r in [1usize, 2, 4] {
            let fast = box_mean(&src, r);
            for y in 0..37usize {
                for x in 0..23usize {
                    let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(37));
                    let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(23));
                    let mut s = 0.0f64;
                    for yy in y0..y1 {
                        for xx in x0..x1 {
                            s += src[(yy, xx)] as f64;
                        }
                    }
                    let d = s / ((y1 - y0) * (x1 - x0)) as f64;
                    assert!(
                        (fast[(y, x)] as f64 - d).abs() < 1e-3,
                        "r{r} ({y},{x}) {} vs {d}",
                        fast[(y, x)]
                    );
                }
            }
        }
    }
}
