//! Perceptual masking: how much mark each pixel can hide.

use ndarray::Array2;

use crate::resample::box_mean;

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
/// smoothed so the mask itself adds no fine structure.
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
}
