//! Perceptual masking: how much mark each pixel can hide.

use ndarray::Array2;

use crate::pixels::{ImageRef, PixelLayout};
#[cfg(test)]
use crate::resample::box_mean;
use crate::resample::row_box_mean;

/// Local contrast (gray levels) at which the mask is 1.
const REFERENCE_ACTIVITY: f32 = 8.0;
/// Largest mask value, reached in strong texture.
const MAX_MASK: f32 = 2.0;
/// Mean texture (mask above the floor) below which an image's texture gets more mark,
/// by `(TARGET_EXCESS / mean)^2`.
const TARGET_EXCESS: f32 = 0.3;
/// Largest boost of texture in mostly flat images.
const MAX_GAIN: f32 = 5.0;
/// Largest mask after the boost, so boosted texture never carries more than 2.5x the
/// strongest mark of an ordinary photo.
const BOOSTED_MAX: f32 = 5.0;
/// Mask on perfectly flat areas: 0.6 gray levels at the default strength, which rounds to at
/// most one level (see `embed::TILE_PEAK`).
pub(crate) const FLOOR: f32 = 0.25;

/// A per-pixel amplitude factor from local activity: the standard deviation of luma in a
/// window around the pixel (texture and edges hide the mark; flat colour fields do not),
/// smoothed so the mask itself adds no fine structure. The plane-at-a-time reference for
/// [`streamed_mask`], which the embedder uses.
#[cfg(test)]
pub(crate) fn activity_mask(luma: &Array2<f32>, radius: usize) -> Array2<f32> {
    let mean = box_mean(luma, radius);
    let sq = luma.mapv(|v| v * v);
    let mean_sq = box_mean(&sq, radius);
    let mut sd = Array2::<f32>::zeros(luma.dim());
    ndarray::Zip::from(&mut sd)
        .and(&mean)
        .and(&mean_sq)
        .for_each(|s, &mu, &m2| *s = (m2 - mu * mu).max(0.0).sqrt());
    // A pixel is only as hidden as the quietest of the four windows around it (diagonal
    // neighbours `radius` away): inside texture all four are busy, but on the flat side of an
    // edge at least one is flat, so the mark does not spill from edges into flat colour.
    let (h, w) = sd.dim();
    let left: Vec<usize> = (0..w).map(|x| x.saturating_sub(radius)).collect();
    let right: Vec<usize> = (0..w).map(|x| (x + radius).min(w - 1)).collect();
    let mut m = Array2::<f32>::zeros((h, w));
    for (y, mut out) in m.rows_mut().into_iter().enumerate() {
        let (up, down) = (
            sd.row(y.saturating_sub(radius)),
            sd.row((y + radius).min(h - 1)),
        );
        for (x, v) in out.iter_mut().enumerate() {
            let (l, r) = (left[x], right[x]);
            let quiet = up[l].min(up[r]).min(down[l]).min(down[r]);
            *v = (quiet / REFERENCE_ACTIVITY).clamp(FLOOR, MAX_MASK);
        }
    }
    // Mostly flat artwork (logos, clip art) has little texture to hide a mark in: give its
    // texture more, up to MAX_GAIN times, while flat areas keep the floor. The square makes
    // the boost sharp: a photo with a soft background (mean texture 0.27) gets 1.2x, a logo
    // (0.15) 4x, clip art on white (0.04) the maximum.
    let excess = m.iter().map(|v| v - FLOOR).sum::<f32>() / m.len().max(1) as f32;
    let gain = if excess > 0.0 {
        (TARGET_EXCESS / excess).powi(2).clamp(1.0, MAX_GAIN)
    } else {
        1.0
    };
    m.mapv_inplace(|v| (FLOOR + gain * (v - FLOOR)).min(BOOSTED_MAX));
    box_mean(&m, 1)
}

/// The activity mask of an 8-bit image before its final 3x3 smoothing (see
/// [`smoothed_row`]), computed one row at a time: the same luma, windowed statistics, quiet-window
/// minimum and boost as [`activity_mask`], equal to it up to float rounding, but holding only
/// `4 radius + 4` rows of intermediate values instead of five full-resolution planes. The
/// result is one `f32` per pixel.
pub(crate) fn streamed_mask(img: &ImageRef<'_>, radius: usize) -> Array2<f32> {
    let (w, h) = (img.width as usize, img.height as usize);
    let ch = img.layout.channels();
    let cap = 2 * radius + 2;
    // Rows of horizontal box means of luma and of its square, and their running vertical sums,
    // exactly as `box_mean` forms them.
    let mut mu_rows = vec![0f32; cap * w];
    let mut sq_rows = vec![0f32; cap * w];
    let (mut sum_mu, mut sum_sq) = (vec![0f64; w], vec![0f64; w]);
    let (mut lo, mut hi) = (0usize, 0usize);
    let mut sd_rows = vec![0f32; cap * w];
    let mut luma_row = vec![0f32; w];
    let mut sq_row = vec![0f32; w];
    let mut prefix = vec![0f64; w + 1];
    let left: Vec<usize> = (0..w).map(|x| x.saturating_sub(radius)).collect();
    let right: Vec<usize> = (0..w).map(|x| (x + radius).min(w - 1)).collect();
    let mut m = Array2::<f32>::zeros((h, w));
    let mut excess = 0f32;
    let emit = |y: usize, sd_rows: &[f32], m: &mut Array2<f32>, excess: &mut f32| {
        let (ru, rd) = (y.saturating_sub(radius), (y + radius).min(h - 1));
        let up = &sd_rows[(ru % cap) * w..(ru % cap + 1) * w];
        let down = &sd_rows[(rd % cap) * w..(rd % cap + 1) * w];
        let mut out = m.row_mut(y);
        for (x, v) in out.iter_mut().enumerate() {
            let (l, r) = (left[x], right[x]);
            let quiet = up[l].min(up[r]).min(down[l]).min(down[r]);
            *v = (quiet / REFERENCE_ACTIVITY).clamp(FLOOR, MAX_MASK);
            *excess += *v - FLOOR;
        }
    };
    for i in 0..h {
        let (want_lo, want_hi) = (i.saturating_sub(radius), (i + radius + 1).min(h));
        while hi < want_hi {
            let px = &img.data[hi * w * ch..(hi + 1) * w * ch];
            for ((l, q), p) in luma_row
                .iter_mut()
                .zip(&mut sq_row)
                .zip(px.chunks_exact(ch))
            {
                *l = match img.layout {
                    PixelLayout::Gray8 => p[0] as f32,
                    _ => 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32,
                };
                *q = *l * *l;
            }
            let slot = (hi % cap) * w;
            row_box_mean(&luma_row, radius, &mut prefix, &mut mu_rows[slot..slot + w]);
            row_box_mean(&sq_row, radius, &mut prefix, &mut sq_rows[slot..slot + w]);
            for (s, v) in sum_mu.iter_mut().zip(&mu_rows[slot..slot + w]) {
                *s += *v as f64;
            }
            for (s, v) in sum_sq.iter_mut().zip(&sq_rows[slot..slot + w]) {
                *s += *v as f64;
            }
            hi += 1;
        }
        while lo < want_lo {
            let slot = (lo % cap) * w;
            for (s, v) in sum_mu.iter_mut().zip(&mu_rows[slot..slot + w]) {
                *s -= *v as f64;
            }
            for (s, v) in sum_sq.iter_mut().zip(&sq_rows[slot..slot + w]) {
                *s -= *v as f64;
            }
            lo += 1;
        }
        let n = (hi - lo) as f64;
        let slot = (i % cap) * w;
        for ((sd, a), b) in sd_rows[slot..slot + w].iter_mut().zip(&sum_mu).zip(&sum_sq) {
            let (mu, m2) = ((a / n) as f32, (b / n) as f32);
            *sd = (m2 - mu * mu).max(0.0).sqrt();
        }
        // Row y needs the standard deviations `radius` rows above and below it.
        if i >= radius {
            emit(i - radius, &sd_rows, &mut m, &mut excess);
        }
    }
    for y in h.saturating_sub(radius)..h {
        emit(y, &sd_rows, &mut m, &mut excess);
    }
    let excess = excess / m.len().max(1) as f32;
    let gain = if excess > 0.0 {
        (TARGET_EXCESS / excess).powi(2).clamp(1.0, MAX_GAIN)
    } else {
        1.0
    };
    m.mapv_inplace(|v| (FLOOR + gain * (v - FLOOR)).min(BOOSTED_MAX));
    m
}

/// Row `y` of the 3x3 clipped mean of `m` (the mask's final smoothing), into `out`: the sum
/// over the rows in the window, then over the columns, divided by the window's size.
pub(crate) fn smoothed_row(m: &Array2<f32>, y: usize, out: &mut [f32]) {
    let (h, w) = m.dim();
    if w == 0 {
        return;
    }
    let rows = y.saturating_sub(1)..(y + 2).min(h);
    let n_rows = rows.len() as f32;
    let mut first = true;
    for r in rows {
        let row = m.row(r);
        let Some(row) = row.as_slice() else {
            continue;
        };
        if first {
            out.copy_from_slice(row);
            first = false;
        } else {
            for (o, v) in out.iter_mut().zip(row) {
                *o += v;
            }
        }
    }
    // Columns, in place: keep the previous column's row sum before overwriting it.
    if w == 1 {
        out[0] /= n_rows;
        return;
    }
    let (edge, inner) = (1.0 / (2.0 * n_rows), 1.0 / (3.0 * n_rows));
    let mut prev = out[0];
    out[0] = (out[0] + out[1]) * edge;
    for x in 1..w - 1 {
        let here = out[x];
        out[x] = (prev + here + out[x + 1]) * inner;
        prev = here;
    }
    out[w - 1] = (prev + out[w - 1]) * edge;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_areas_get_the_floor_and_texture_gets_more() {
        let flat = Array2::from_elem((32, 32), 200.0f32);
        assert!(
            activity_mask(&flat, 3)
                .iter()
                .all(|&v| (v - FLOOR).abs() < 1e-5)
        );
        let checker = Array2::from_shape_fn(
            (32, 32),
            |(r, c)| if (r + c) % 2 == 0 { 100.0 } else { 140.0 },
        );
        // sd = 20 -> 2.5 -> clamped at MAX_MASK in the interior.
        assert!((activity_mask(&checker, 3)[(16, 16)] - MAX_MASK).abs() < 1e-3);
    }

    /// The row-streamed mask and its row smoothing equal the plane-at-a-time reference on
    /// a picture with texture, edges and flat areas, for gray and colour.
    #[test]
    fn streamed_mask_matches_the_reference() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (w, h) = (97usize, 61usize);
        for layout in [PixelLayout::Rgb8, PixelLayout::Gray8] {
            let ch = layout.channels();
            let data: Vec<u8> = (0..w * h * ch)
                .map(|i| {
                    let (x, y) = ((i / ch) % w, (i / ch) / w);
                    if x < 40 && y < 30 {
                        200 // a flat field
                    } else if x % 11 < 5 {
                        rng.random_range(0..255) // texture
                    } else {
                        (x * 2 + y) as u8 // a ramp
                    }
                })
                .collect();
            let img = match ImageRef::new(&data, w as u32, h as u32, layout) {
                Ok(img) => img,
                Err(e) => unreachable!("{e}"),
            };
            let reference = activity_mask(&crate::resample::luma(&img), 4);
            let raw = streamed_mask(&img, 4);
            let mut row = vec![0f32; w];
            for y in 0..h {
                smoothed_row(&raw, y, &mut row);
                for x in 0..w {
                    let (a, b) = (reference[(y, x)], row[x]);
                    assert!((a - b).abs() < 1e-4, "{layout:?} ({x}, {y}): {a} vs {b}");
                }
            }
        }
    }
}
