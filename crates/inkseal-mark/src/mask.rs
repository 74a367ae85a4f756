//! Perceptual masking: how much mark each pixel can hide.

use ndarray::Array2;

use crate::resample::box_mean;

/// Local contrast (gray levels) at which the mask is 1.
const REFERENCE_ACTIVITY: f32 = 8.0;
/// Largest mask value, reached in strong texture.
const MAX_MASK: f32 = 2.0;
/// Mask on perfectly flat areas: essentially nothing, so flat colour stays flat.
const FLOOR: f32 = 0.25;

/// A per-pixel amplitude factor from local activity: the standard deviation of luma in a
/// window around the pixel (texture and edges hide the mark; flat colour fields do not),
/// smoothed so the mask itself adds no fine structure.
pub(crate) fn activity_mask(luma: &Array2<f32>, radius: usize) -> Array2<f32> {
    let mean = box_mean(luma, radius);
    let sq = luma.mapv(|v| v * v);
    let mean_sq = box_mean(&sq, radius);
    let mut m = Array2::<f32>::zeros(luma.dim());
    ndarray::Zip::from(&mut m)
        .and(&mean)
        .and(&mean_sq)
        .for_each(|m, &mu, &m2| {
            let sd = (m2 - mu * mu).max(0.0).sqrt();
            *m = (sd / REFERENCE_ACTIVITY).clamp(FLOOR, MAX_MASK);
        });
    box_mean(&m, radius)
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
