//! The detector: whitens, folds and correlates, then decodes the payload.

use ndarray::Array2;
use rustfft::num_complex::Complex32;

use crate::code;
use crate::fft::Fft2;
use crate::resample::{box_mean, resample_luma};
use crate::stats::{binomial_sf, combined_p, max_normal_sf};
use crate::tile::{ANALYSIS_SHORT_SIDE, Layout, TILE};
use crate::{Error, ImageRef, Key, Result, WorkId};

/// Number of translations the pilot correlation searches, all treated as independent. A
/// simulation of 20,000 null tiles fitted an effective count of 3,900-4,000 at quantiles from
/// 0.1 to 0.99, so this is exact to within a few percent and errs on the safe side; the test
/// `sync_null_distribution_matches_the_model` checks it.
const SEARCHED_SHIFTS: f64 = (TILE * TILE) as f64;
/// Radius of the local-mean predictor subtracted before folding (analysis pixels).
const PREDICTOR_RADIUS: usize = 1;
/// Radius of the window used to normalise local residual energy.
const ENERGY_RADIUS: usize = 4;
/// Added to the local residual energy so flat areas are not amplified (gray levels).
const ENERGY_FLOOR: f32 = 0.3;
/// Normalised residuals are clipped here so a few strong edges cannot dominate.
const CLIP: f32 = 3.0;

/// Settings for a [`Detector`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DetectConfig {
    /// A mark is reported only when its p-value is at or below this. Default 1e-6.
    pub threshold: f64,
    /// Largest image, in pixels, accepted.
    pub max_pixels: u64,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            threshold: 1e-6,
            max_pixels: crate::DEFAULT_MAX_PIXELS,
        }
    }
}

impl DetectConfig {
    /// Sets the p-value threshold.
    pub fn with_threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }

    /// Sets the largest image, in pixels, accepted.
    pub fn with_max_pixels(mut self, max_pixels: u64) -> Self {
        self.max_pixels = max_pixels;
        self
    }
}

/// The outcome of one detection.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Detection {
    /// Whether a mark was found at the configured threshold.
    pub detected: bool,
    /// The decoded work ID; `Some` only when `detected`.
    pub work_id: Option<WorkId>,
    /// The probability that an unmarked image scores at least this high under this key,
    /// accounting for every candidate the detector searched. Uniform on unmarked images.
    pub p_value: f64,
    /// Height of the synchronisation peak, in standard deviations under the null.
    pub sync_z: f64,
    /// Agreement of the soft payload bits with the decoded codeword, in [-1, 1]
    /// (0 when nothing decoded).
    pub bit_agreement: f64,
    /// Why nothing was searched, when that is the case (for example a tiny image).
    pub note: Option<String>,
}

impl Detection {
    fn not_searched(note: impl Into<String>) -> Detection {
        Detection {
            detected: false,
            work_id: None,
            p_value: 1.0,
            sync_z: 0.0,
            bit_agreement: 0.0,
            note: Some(note.into()),
        }
    }
}

/// The outcome of [`Detector::verify`]: how well an image matches one known work ID.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Verification {
    /// Whether the match is significant at the configured threshold.
    pub verified: bool,
    /// Coded bits (after synchronisation) that agree with the ID's codeword.
    pub matching_bits: u32,
    /// Coded bits compared.
    pub total_bits: u32,
    /// Probability that an unmarked image agrees on at least this many bits.
    pub p_value: f64,
    /// Height of the synchronisation peak, in standard deviations under the null.
    pub sync_z: f64,
}

/// A reusable detection engine for one key. Build once, call [`Detector::detect`] many times.
#[derive(Clone, Debug)]
pub struct Detector {
    config: DetectConfig,
    layout: Layout,
    fft: Fft2,
    spectrum: Vec<Complex32>,
    surface: Vec<Complex32>,
}

impl Detector {
    /// Builds an engine for `key`.
    pub fn new(key: &Key, config: DetectConfig) -> Result<Detector> {
        if !(config.threshold > 0.0 && config.threshold < 1.0) {
            return Err(Error::InvalidConfig(format!(
                "threshold {} is outside (0, 1)",
                config.threshold
            )));
        }
        Ok(Detector {
            config,
            layout: Layout::new(key),
            fft: Fft2::new(TILE),
            spectrum: vec![Complex32::new(0.0, 0.0); TILE * TILE],
            surface: vec![Complex32::new(0.0, 0.0); TILE * TILE],
        })
    }

    /// Looks for a mark in `image`.
    pub fn detect(&mut self, image: ImageRef<'_>) -> Result<Detection> {
        match self.folded(&image)? {
            Some(folded) => Ok(self.detect_folded(&folded)),
            None => Ok(Detection::not_searched(format!(
                "image is {}x{}; too small to carry a mark (short side below {})",
                image.width,
                image.height,
                crate::MIN_DETECT_SIDE
            ))),
        }
    }

    /// Checks whether `image` carries one known work ID: counts the coded bits that agree with
    /// `id`'s codeword. Its p-value is the binomial tail of that count, exact under the null
    /// (the soft bits of an unmarked image are independent fair coins), and needs no search
    /// over IDs; it is stronger evidence than [`Detector::detect`] when the ID is known.
    pub fn verify(&mut self, image: ImageRef<'_>, id: WorkId) -> Result<Verification> {
        let total_bits = code::CODED_BITS as u32;
        let Some(folded) = self.folded(&image)? else {
            return Ok(Verification {
                verified: false,
                matching_bits: 0,
                total_bits,
                p_value: 1.0,
                sync_z: 0.0,
            });
        };
        let (sync_z, soft) = self.soft_bits(&folded);
        let matching_bits = code::encode(id)
            .iter()
            .zip(&soft)
            .filter(|(b, s)| (**s > 0.0) == (**b == 0))
            .count() as u32;
        let p_value = binomial_sf(matching_bits, total_bits);
        Ok(Verification {
            verified: p_value <= self.config.threshold,
            matching_bits,
            total_bits,
            p_value,
            sync_z,
        })
    }

    /// The folded whitened residual, or `None` when the image is too small to search.
    fn folded(&self, image: &ImageRef<'_>) -> Result<Option<Array2<f32>>> {
        let (w, h) = (image.width, image.height);
        crate::pixels::check_pixel_limit(w, h, self.config.max_pixels)?;
        if w.min(h) < crate::MIN_DETECT_SIDE {
            return Ok(None);
        }
        Ok(Some(fold(&analysis_residual(image))))
    }

    /// Synchronises on the pilot and returns the sync peak (in null standard deviations) and
    /// the soft payload bits at the best shift.
    fn soft_bits(&mut self, folded: &Array2<f32>) -> (f64, Vec<f32>) {
        let n = TILE;
        for (dst, v) in self.spectrum.iter_mut().zip(folded.iter()) {
            *dst = Complex32::new(*v, 0.0);
        }
        self.fft.forward(&mut self.spectrum);
        let unit = |c: Complex32| {
            let m = c.norm();
            if m > 0.0 { c / m } else { c }
        };
        // Pilot correlation over every cyclic shift at once.
        self.surface.fill(Complex32::new(0.0, 0.0));
        for c in &self.layout.pilot {
            self.surface[c.bin(n)] = unit(self.spectrum[c.bin(n)]) * c.phase.conj();
        }
        self.fft.inverse(&mut self.surface);
        let sigma = (self.layout.pilot.len() as f32 / 2.0).sqrt();
        let (best, peak) = self
            .surface
            .iter()
            .enumerate()
            .map(|(i, v)| (i, v.re))
            .fold((0, f32::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
        let sync_z = (peak / sigma) as f64;
        // A blank image has no phases at all; never let that become a NaN p-value.
        let sync_z = if sync_z.is_finite() { sync_z } else { 0.0 };
        let (sy, sx) = (best / n, best % n);

        // How well the mark survived, by frequency: the pilot's agreement at the best shift,
        // fitted as a line in the radius. Payload carriers are weighted by it, so frequencies
        // that an attack destroyed (high ones after blur or JPEG) add little noise.
        let radius = |c: &crate::tile::Carrier| ((c.fx * c.fx + c.fy * c.fy) as f32).sqrt();
        let agreement: Vec<(f32, f32)> = self
            .layout
            .pilot
            .iter()
            .map(|c| {
                let v = unit(self.spectrum[c.bin(n)]) * c.phase.conj() * c.shift_phasor(sx, sy);
                (radius(c), v.re)
            })
            .collect();
        let reliability = fit_line(&agreement);

        // Payload at the best shift.
        let mut soft = vec![0f32; code::CODED_BITS];
        for (i, c) in self.layout.payload.iter().enumerate() {
            let weight = reliability(radius(c)).clamp(0.02, 1.0);
            let v =
                unit(self.spectrum[c.bin(n)]) * c.phase.conj() * c.shift_phasor(sx, sy) * weight;
            soft[self.layout.carrier_bit[2 * i]] += v.re;
            soft[self.layout.carrier_bit[2 * i + 1]] += v.im;
        }
        (sync_z, soft)
    }

    /// Correlates a folded residual with the pilot and decodes the payload.
    fn detect_folded(&mut self, folded: &Array2<f32>) -> Detection {
        let (sync_z, soft) = self.soft_bits(folded);
        let p_sync = max_normal_sf(sync_z, SEARCHED_SHIFTS);
        let decoded = code::decode(&soft);
        let bit_agreement = decoded.map_or(0.0, |id| {
            let coded = code::encode(id);
            coded
                .iter()
                .zip(&soft)
                .map(|(&b, &s)| if (s > 0.0) == (b == 0) { 1.0 } else { -1.0 })
                .sum::<f64>()
                / coded.len() as f64
        });
        let p_value = combined_p(p_sync, decoded.is_some(), code::CHECK_FALSE_PASS);
        let detected = decoded.is_some() && p_value <= self.config.threshold;
        Detection {
            detected,
            work_id: if detected { decoded } else { None },
            p_value,
            sync_z,
            bit_agreement,
            note: None,
        }
    }
}

/// Least-squares line through `(x, y)` points, as a function of `x`.
fn fit_line(points: &[(f32, f32)]) -> impl Fn(f32) -> f32 {
    let n = points.len().max(1) as f32;
    let mx = points.iter().map(|p| p.0).sum::<f32>() / n;
    let my = points.iter().map(|p| p.1).sum::<f32>() / n;
    let sxx: f32 = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f32 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    move |x| my + slope * (x - mx)
}

/// The whitened luma at the analysis scale: the image resampled so its short side is
/// [`ANALYSIS_SHORT_SIDE`], minus a local-mean prediction, divided by local residual energy
/// and clipped.
fn analysis_residual(image: &ImageRef<'_>) -> Array2<f32> {
    let (w, h) = (image.width as f64, image.height as f64);
    let s = ANALYSIS_SHORT_SIDE as f64 / w.min(h);
    let (aw, ah) = (
        ((w * s).round() as usize).max(1),
        ((h * s).round() as usize).max(1),
    );
    let y = resample_luma(image, s, ah, aw);
    let mut r = &y - &box_mean(&y, PREDICTOR_RADIUS);
    let energy = box_mean(&r.mapv(|v| v * v), ENERGY_RADIUS);
    ndarray::Zip::from(&mut r).and(&energy).for_each(|v, &e| {
        // `max`: a running box sum can leave a tiny negative energy where the residual is 0.
        *v = (*v / (e.max(0.0).sqrt() + ENERGY_FLOOR)).clamp(-CLIP, CLIP);
    });
    r
}

/// Sums every `TILE x TILE` block of `r` (the partial ones too) into one tile.
fn fold(r: &Array2<f32>) -> Array2<f32> {
    let mut acc = Array2::<f32>::zeros((TILE, TILE));
    for ((row, col), v) in r.indexed_iter() {
        acc[(row % TILE, col % TILE)] += v;
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Null-hypothesis detections: white noise folded tiles (every spectral phase uniform,
    /// which is exactly what a random key sees in any unmarked image).
    fn null_p_values(trials: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut det = match Detector::new(&Key::generate(&mut rng), DetectConfig::default()) {
            Ok(d) => d,
            Err(e) => unreachable!("{e}"),
        };
        (0..trials)
            .map(|_| {
                let folded = Array2::from_shape_fn((TILE, TILE), |_| rng.random::<f32>() - 0.5);
                det.detect_folded(&folded).p_value
            })
            .collect()
    }

    /// Kolmogorov-Smirnov distance of samples from the uniform distribution.
    fn ks_uniform(mut p: Vec<f64>) -> f64 {
        p.sort_by(f64::total_cmp);
        let n = p.len() as f64;
        p.iter()
            .enumerate()
            .map(|(i, &v)| (v - i as f64 / n).abs().max(((i + 1) as f64 / n - v).abs()))
            .fold(0.0, f64::max)
    }

    #[test]
    fn sync_null_distribution_matches_the_model() {
        let p = null_p_values(3000, 1);
        let d = ks_uniform(p.clone());
        // Critical value of the KS test at alpha = 0.001 for n = 3000: 1.95 / sqrt(n).
        assert!(d < 1.95 / (3000f64).sqrt(), "KS distance {d}");
        // And the lower tail is not anti-conservative: P(p <= 0.01) stays near 0.01.
        let low = p.iter().filter(|&&v| v <= 0.01).count();
        assert!(low <= 50, "{low} of 3000 below 0.01");
    }

    #[test]
    fn noise_is_never_detected() {
        assert!(null_p_values(500, 2).iter().all(|&p| p > 1e-6));
    }
}
