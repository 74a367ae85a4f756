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

/// The taps of every output sample padded with zeros to one length, `len`, and each window
/// moved inside the source, so a row is filtered with no clamping and a fixed tap count.
struct FlatTaps {
    len: usize,
    starts: Vec<usize>,
    weights: Vec<f32>,
}

impl FlatTaps {
    fn new(src_len: usize, dst_len: usize, scale: f64) -> FlatTaps {
        let taps = taps(src_len, dst_len, scale);
        // Every window lies inside the source, so none is longer than it.
        let len = taps
            .iter()
            .map(|(_, w)| w.len())
            .max()
            .unwrap_or(1)
            .min(src_len)
            .max(1);
        let mut starts = Vec::with_capacity(dst_len);
        let mut weights = Vec::with_capacity(dst_len * len);
        for (start, w) in taps {
            let moved = start.min(src_len - len);
            let front = start - moved;
            weights.extend(std::iter::repeat_n(0.0, front));
            weights.extend(&w);
            weights.extend(std::iter::repeat_n(0.0, len - front - w.len()));
            starts.push(moved);
        }
        FlatTaps {
            len,
            starts,
            weights,
        }
    }

    /// Filters `src` into `out` (one value per output sample).
    fn apply(&self, src: &[f32], out: &mut [f32]) {
        match self.len {
            1 => self.apply_n::<1>(src, out),
            2 => self.apply_n::<2>(src, out),
            3 => self.apply_n::<3>(src, out),
            4 => self.apply_n::<4>(src, out),
            5 => self.apply_n::<5>(src, out),
            6 => self.apply_n::<6>(src, out),
            7 => self.apply_n::<7>(src, out),
            8 => self.apply_n::<8>(src, out),
            len => {
                for ((o, &s), w) in out
                    .iter_mut()
                    .zip(&self.starts)
                    .zip(self.weights.chunks_exact(len))
                {
                    *o = w.iter().zip(&src[s..s + len]).map(|(a, b)| a * b).sum();
                }
            }
        }
    }

    fn apply_n<const L: usize>(&self, src: &[f32], out: &mut [f32]) {
        for ((o, &s), w) in out
            .iter_mut()
            .zip(&self.starts)
            .zip(self.weights.chunks_exact(L))
        {
            let x = &src[s..s + L];
            let mut acc = 0.0;
            for k in 0..L {
                acc += w[k] * x[k];
            }
            *o = acc;
        }
    }
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
        match img.layout {
            PixelLayout::Gray8 => row.iter_mut().zip(px).for_each(|(d, p)| *d = *p as f32),
            PixelLayout::Rgb8 => luma_row::<3>(px, row),
            PixelLayout::Rgba8 => luma_row::<4>(px, row),
        }
    })
}

/// BT.601 luma of one row of `CH`-byte colour pixels (red, green, blue first).
fn luma_row<const CH: usize>(px: &[u8], row: &mut [f32]) {
    for (d, p) in row.iter_mut().zip(px.chunks_exact(CH)) {
        *d = 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
    }
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
    let tx = FlatTaps::new(w, out_w, scale);
    let ty = taps(h, out_h, scale);
    // Horizontal pass, one source row at a time.
    let mut mid = pool::plane_any(h, out_w);
    let mut src_row = vec![0f32; w];
    let mut mid_line = vec![0f32; out_w];
    for (r, mut mid_row) in mid.rows_mut().into_iter().enumerate() {
        row_of(r, &mut src_row);
        match mid_row.as_slice_mut() {
            Some(m) => tx.apply(&src_row, m),
            None => {
                tx.apply(&src_row, &mut mid_line);
                mid_row.iter_mut().zip(&mid_line).for_each(|(d, s)| *d = *s);
            }
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

/// Sums over a clipped `2r + 1` window along one row (`out.len() == src.len()`). Each sum is
/// added up directly from its samples (no running sum, so nothing drifts), the interior a
/// whole shifted slice at a time so it vectorises.
fn row_box_sum(src: &[f32], r: usize, out: &mut [f32]) {
    let w = src.len();
    let direct = |x: usize| -> f32 { src[x.saturating_sub(r)..(x + r + 1).min(w)].iter().sum() };
    if w <= 2 * r {
        for (x, o) in out.iter_mut().enumerate() {
            *o = direct(x);
        }
        return;
    }
    let n = w - 2 * r;
    match r {
        1 => window_sums::<3>(src, &mut out[r..r + n]),
        4 => window_sums::<9>(src, &mut out[r..r + n]),
        _ => {
            let interior = &mut out[r..r + n];
            interior.copy_from_slice(&src[..n]);
            for k in 1..=2 * r {
                for (o, s) in interior.iter_mut().zip(&src[k..k + n]) {
                    *o += *s;
                }
            }
        }
    }
    for x in (0..r).chain(w - r..w) {
        out[x] = direct(x);
    }
}

/// `out[i]` = the sum of the `N` values `src[i..i + N]`, added in order (`src` holds
/// `out.len() + N - 1` values or more).
fn window_sums<const N: usize>(src: &[f32], out: &mut [f32]) {
    for (i, o) in out.iter_mut().enumerate() {
        let window = &src[i..i + N];
        let mut acc = window[0];
        for v in &window[1..] {
            acc += *v;
        }
        *o = acc;
    }
}

/// `out[x]` = the sum of `rows[k][x]` over the `N` rows, added in order, times `scale[x]`
/// times `row_scale`.
fn column_sums<const N: usize>(rows: [&[f32]; N], scale: &[f32], row_scale: f32, out: &mut [f32]) {
    for (x, (o, s)) in out.iter_mut().zip(scale).enumerate() {
        let mut acc = rows[0][x];
        for row in &rows[1..] {
            acc += row[x];
        }
        *o = acc * (s * row_scale);
    }
}

/// Mean over a `(2r+1) x (2r+1)` window, the window clipped at the borders. Computed in
/// `f32`: row sums, then sums of `2r + 1` rows of those, then one scale per sample (the
/// reciprocal of the clipped window's area).
pub(crate) fn box_mean(src: &Array2<f32>, r: usize) -> Array2<f32> {
    let (h, w) = src.dim();
    let mut mid = pool::plane_any(h, w);
    let mut row_in = vec![0f32; w];
    let mut row_out = vec![0f32; w];
    for (src_row, mut mid_row) in src.rows().into_iter().zip(mid.rows_mut()) {
        match (src_row.as_slice(), mid_row.as_slice_mut()) {
            (Some(s), Some(m)) => row_box_sum(s, r, m),
            (s, _) => {
                match s {
                    Some(s) => row_in.copy_from_slice(s),
                    None => row_in.iter_mut().zip(src_row).for_each(|(d, s)| *d = *s),
                }
                row_box_sum(&row_in, r, &mut row_out);
                mid_row.iter_mut().zip(&row_out).for_each(|(d, s)| *d = *s);
            }
        }
    }
    let count = |i: usize, n: usize| ((i + r + 1).min(n) - i.saturating_sub(r)) as f32;
    let inv_x: Vec<f32> = (0..w).map(|x| 1.0 / count(x, w)).collect();
    let mut out = pool::plane_any(h, w);
    // Rows whose window is whole, for the radii detection uses: every sum in one pass.
    let mut whole_rows_done = false;
    if let (Some(all), Some(dst)) = (mid.as_slice(), out.as_slice_mut())
        && h > 2 * r
        && (r == 1 || r == 4)
    {
        whole_rows_done = true;
        let row = |y: usize| &all[y * w..(y + 1) * w];
        let inv = 1.0 / (2 * r + 1) as f32;
        for (y, out_row) in dst.chunks_exact_mut(w).enumerate().take(h - r).skip(r) {
            if r == 1 {
                column_sums([row(y - 1), row(y), row(y + 1)], &inv_x, inv, out_row);
            } else {
                let rows: [&[f32]; 9] = std::array::from_fn(|k| row(y - 4 + k));
                column_sums(rows, &inv_x, inv, out_row);
            }
        }
    }
    for (y, mut out_row) in out.rows_mut().into_iter().enumerate() {
        let (lo, hi) = (y.saturating_sub(r), (y + r + 1).min(h));
        if whole_rows_done && hi - lo == 2 * r + 1 {
            continue;
        }
        out_row.assign(&mid.row(lo));
        for k in lo + 1..hi {
            out_row.zip_mut_with(&mid.row(k), |o, v| *o += *v);
        }
        let inv_y = 1.0 / count(y, h);
        out_row
            .iter_mut()
            .zip(&inv_x)
            .for_each(|(o, ix)| *o *= ix * inv_y);
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
    fn padded_taps_filter_like_the_clamped_windows() {
        // Shrinking by small and large factors (up to the 28-tap windows of a 16-MP image),
        // enlarging, and a source shorter than the padded window.
        for (src_len, dst_len, scale) in [
            (37, 18, 0.5),
            (37, 63, 1.7),
            (612, 384, 0.627),
            (500, 37, 0.074),
            (10, 1, 0.1),
            (3, 1, 0.3),
            (5, 5, 1.0),
        ] {
            let src: Vec<f32> = (0..src_len).map(|i| ((i * 7919) % 251) as f32).collect();
            let mut fast = vec![0f32; dst_len];
            FlatTaps::new(src_len, dst_len, scale).apply(&src, &mut fast);
            for (j, (start, weights)) in taps(src_len, dst_len, scale).iter().enumerate() {
                let direct: f32 = weights
                    .iter()
                    .enumerate()
                    .map(|(k, w)| w * src[(start + k).min(src_len - 1)])
                    .sum();
                assert!(
                    (fast[j] - direct).abs() <= 1e-4 * direct.abs().max(1.0),
                    "{src_len}->{dst_len} at {j}: {} vs {direct}",
                    fast[j]
                );
            }
        }
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
        // Windows narrower and wider than the plane (a plane of 5 or 3 samples has no
        // interior for r = 4).
        for (h, w, r) in [
            (37usize, 23usize, 0usize),
            (37, 23, 1),
            (37, 23, 2),
            (37, 23, 4),
            (5, 3, 4),
            (9, 9, 4),
            (3, 40, 1),
        ] {
            let src = Array2::from_shape_fn((h, w), |(r, c)| ((r * 31 + c * 17) % 101) as f32);
            let fast = box_mean(&src, r);
            for y in 0..h {
                for x in 0..w {
                    let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
                    let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
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
            // A plane whose rows are not contiguous (column-major) gives the same means.
            let column_major = src.clone().reversed_axes();
            let standard = column_major.as_standard_layout().into_owned();
            assert!(column_major.as_slice().is_none());
            assert_eq!(box_mean(&column_major, r), box_mean(&standard, r));
        }
    }
}
