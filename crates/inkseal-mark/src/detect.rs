//! The detector: whitens, folds and correlates, then decodes the payload.

use ndarray::Array2;
use rustfft::num_complex::Complex32;

use crate::code;
use crate::fft::Fft2;
use crate::pool;
use crate::region::{self, Region};
use crate::resample::{box_mean, resample_luma};
use crate::stats::{binomial_sf, combined_p, max_normal_sf, normal_sf};
use crate::sync::{self, FIXED_BITS, FIXED_HALF, Folder, Lattice, to_fixed};
use crate::tile::{ANALYSIS_SHORT_SIDE, Carrier, Layout, TILE};
use crate::{Error, ImageRef, Key, Result, WorkId};

/// Number of translations the pilot correlation searches, all treated as independent. A
/// simulation of 20,000 null tiles fitted an effective count of 3,900-4,000 at quantiles from
/// 0.1 to 0.99, so this is exact to within a few percent and errs on the safe side; the test
/// `sync_null_distribution_matches_the_model` checks it.
const SEARCHED_SHIFTS: f64 = (TILE * TILE) as f64;
/// Every candidate a search of `hypotheses` lattices makes: shifts, times the 8 rotations and
/// mirrors of the tile, times the lattices. The p-value of the best is Sidak-corrected for
/// all of them as if independent, which is exact for independent candidates and
/// conservative otherwise.
fn searched(hypotheses: usize) -> f64 {
    SEARCHED_SHIFTS * 8.0 * hypotheses as f64
}
/// Radius of the local-mean predictor subtracted before folding (analysis pixels).
const PREDICTOR_RADIUS: usize = 1;
/// Radius of the window used to normalise local residual energy.
const ENERGY_RADIUS: usize = 4;
/// Where the 3x3 median and the local mean of the analysis image differ by more than this
/// (gray levels), the pixel is at an edge, which the mean smears into a residual far larger
/// than the mark; the median follows steps and ramps, so it predicts the host there. Measured
/// with the amplitude set for SSIMULACRA2 86 (`examples/quality`, 10 attacks): the mean
/// alone kept 282 ID-attack pairs on testdata/, art/ and the held-out images, the median
/// alone 291, this switch 297 (held-out clip art 29 -> 39 of 100, with every crop 25% and
/// rotation 5 degrees), and a switch at 8 levels 290.
const EDGE_SWITCH: f32 = 3.0;
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
    /// Whether to search windows at finer scales when the whole image shows no mark, to find
    /// a work shown inside a larger picture (see [`Region`]). Default true. Without it, an
    /// unmarked image over 512 px costs the base search alone (~25 times less on a
    /// 1280x900 page), and the p-value counts that search alone.
    pub regions: bool,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            threshold: 1e-6,
            max_pixels: crate::DEFAULT_MAX_PIXELS,
            regions: true,
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

    /// Sets whether windows inside the image are searched ([`DetectConfig::regions`]).
    pub fn with_regions(mut self, regions: bool) -> Self {
        self.regions = regions;
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
    /// accounting for every candidate the detector searched (and every window, when the
    /// image was searched in windows). Uniform on unmarked images, or conservative where
    /// overlapping windows were counted as independent.
    pub p_value: f64,
    /// Height of the synchronisation peak, in standard deviations under the null.
    pub sync_z: f64,
    /// Agreement of the soft payload bits with the decoded codeword, in [-1, 1]
    /// (0 when nothing decoded).
    pub bit_agreement: f64,
    /// How the image was transformed since the mark was embedded; `Some` only when
    /// `detected`.
    pub geometry: Option<Geometry>,
    /// Where in the image the mark was found; `Some` only when `detected`.
    pub tile_map: Option<TileMap>,
    /// The marked area: the bounding box of the tile map's cells connected to its strongest
    /// through cells of at least [`TileMap::WEAK_Z`] (or, when no cell reaches
    /// [`TileMap::STRONG_Z`], the window or image searched); `Some` only when `detected`.
    /// The whole image when the work fills it; a part of it when the work is shown inside
    /// a larger picture (a page, a collage).
    pub region: Option<Region>,
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
            geometry: None,
            tile_map: None,
            region: None,
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

/// The outcome of [`Detector::test_work`]: is the mark of one known work in this image?
///
/// Blind detection asks "which of 2^64 IDs is here?" and must decode 80 bits through the
/// payload code. An investigator usually asks "is *this* work here?": then every payload
/// carrier has a known phase, and the test is one correlation. Two statistics, the better
/// taken and Bonferroni-corrected (`p = 2 min(p_A, p_B)`):
///
/// - `z_at_pilot`: at the synchronisation the pilot found, the agreement of the payload
///   carriers with this work's codeword, weighted by the pilot's reliability per frequency;
///   standard normal under the null, no search (the pilot's frequencies are disjoint);
/// - `z_searched`: the best agreement of the work's payload carriers over every candidate the
///   blind detector searches (Šidák-corrected for all of them, as the blind p-value is),
///   for images where the pilot alone is too weak to synchronise.
///
/// The null is "this work's mark is not in the image": unmarked, or marked with another ID.
/// IDs a bit apart share most of their codeword, so a blind decode of another ID at the
/// threshold (`other_work`) makes the verdict negative whatever the p-value.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WorkTest {
    /// The work tested.
    pub work_id: WorkId,
    /// Whether the work's mark is present at the configured threshold (and no other work's
    /// mark was decoded).
    pub present: bool,
    /// The probability that an image without this work's mark scores this high.
    pub p_value: f64,
    /// Agreement of the payload with the work's codeword at the pilot's synchronisation,
    /// in standard deviations under the null.
    pub z_at_pilot: f64,
    /// The best agreement of the work's payload carriers over the whole search, in standard
    /// deviations under the null for one candidate.
    pub z_searched: f64,
    /// Height of the pilot's synchronisation peak, as in [`Detection::sync_z`].
    pub sync_z: f64,
    /// Another work ID decoded blindly at the threshold, if any.
    pub other_work: Option<WorkId>,
    /// Why nothing was searched, when that is the case.
    pub note: Option<String>,
}

/// Where the mark was found and how the image was transformed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Geometry {
    /// Rotation of the mark relative to how it was embedded, in degrees in (-180, 180],
    /// counter-clockwise as the image is displayed.
    pub rotation_deg: f64,
    /// Size of the tile relative to the image's short side, against its embedded size
    /// (1.0 when unchanged; 1.41 for a centre crop keeping half the area).
    pub scale: f64,
    /// Ratio of the tile's two side lengths (1.0 unless the image was squeezed or sheared).
    pub aspect: f64,
    /// Whether the image is mirrored.
    pub mirrored: bool,
}

/// Per-region evidence of the mark: the image cut into a grid of cells about one tile
/// period across, each with the z-score of its correlation with the decoded mark.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TileMap {
    /// Cells down.
    pub rows: usize,
    /// Cells across.
    pub cols: usize,
    /// Side of a cell in image pixels.
    pub cell_px: f64,
    /// Row-major z-scores (standard normal where there is no mark).
    pub z: Vec<f32>,
}

impl TileMap {
    /// z-score at or above which a cell counts as clearly marked.
    pub const STRONG_Z: f32 = 4.0;
    /// z-score at or above which a cell counts as weakly marked.
    pub const WEAK_Z: f32 = 2.0;

    /// The map as text, one string per row: `#` strong, `+` weak, `.` no evidence.
    pub fn grid(&self) -> Vec<String> {
        self.z
            .chunks(self.cols.max(1))
            .map(|row| {
                row.iter()
                    .map(|&z| {
                        if z >= Self::STRONG_Z {
                            '#'
                        } else if z >= Self::WEAK_Z {
                            '+'
                        } else {
                            '.'
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

/// The key-independent part of a detection: the whitened image, the lattices found in it,
/// and the image folded along each; and, made when first needed, the same at finer scales in
/// windows (see [`Region`]). Make it once with [`Analysis::new`] to search one image with
/// many keys ([`Detector::detect_analysis`]).
#[derive(Clone, Debug)]
pub struct Analysis<'a> {
    image: ImageRef<'a>,
    width: u32,
    height: u32,
    /// Analysis pixels per image pixel.
    scale: f64,
    residual: Option<Array2<f32>>,
    lattices: Vec<Lattice>,
    spectra: Vec<Vec<Complex32>>,
    /// Windows of the finer scales, all of which the p-value counts.
    window_count: usize,
    scales: std::sync::OnceLock<Vec<region::Scale>>,
    /// The autocorrelation of the base scale, kept for the deeper lattice search.
    acf: Option<std::sync::Arc<sync::Acf>>,
    /// The deeper lattice search's lattices and folds, made when first needed.
    deep: std::sync::OnceLock<Deep>,
}

/// The lattices of [`sync::deep_hypotheses`] and the image folded along each.
#[derive(Clone, Debug, Default)]
struct Deep {
    lattices: Vec<Lattice>,
    spectra: Vec<Vec<Complex32>>,
}

impl Drop for Analysis<'_> {
    fn drop(&mut self) {
        // The whitened planes go back to the thread's pool for the next image.
        if let Some(r) = self.residual.take() {
            pool::give_plane(r);
        }
        for scale in self.scales.take().unwrap_or_default() {
            pool::give_plane(scale.residual);
        }
    }
}

impl<'a> Analysis<'a> {
    /// Whitens `image`, estimates its geometry and folds it. Checks the size against
    /// `config.max_pixels`.
    pub fn new(image: ImageRef<'a>, config: &DetectConfig) -> Result<Analysis<'a>> {
        let (w, h) = (image.width, image.height);
        crate::pixels::check_pixel_limit(w, h, config.max_pixels)?;
        let scale = ANALYSIS_SHORT_SIDE as f64 / w.min(h) as f64;
        if w.min(h) < crate::MIN_DETECT_SIDE {
            return Ok(Analysis {
                image,
                width: w,
                height: h,
                scale,
                residual: None,
                lattices: Vec::new(),
                spectra: Vec::new(),
                window_count: 0,
                scales: std::sync::OnceLock::new(),
                acf: None,
                deep: std::sync::OnceLock::new(),
            });
        }
        let residual = analysis_residual(&image);
        let (lattices, acf) = sync::hypotheses_and_acf(residual.view());
        let mut folder = Folder::new();
        let spectra = lattices
            .iter()
            .map(|l| folder.fold(residual.view(), l))
            .collect();
        Ok(Analysis {
            image,
            width: w,
            height: h,
            scale,
            residual: Some(residual),
            lattices,
            spectra,
            window_count: if config.regions {
                region::window_count(w, h)
            } else {
                0
            },
            scales: std::sync::OnceLock::new(),
            acf: acf.map(std::sync::Arc::new),
            deep: std::sync::OnceLock::new(),
        })
    }

    /// The deeper lattice search, made on first use.
    fn deep(&self) -> &Deep {
        self.deep.get_or_init(|| {
            let (Some(residual), Some(acf)) = (&self.residual, &self.acf) else {
                return Deep::default();
            };
            let lattices = sync::deep_hypotheses(acf, &self.lattices);
            let mut folder = Folder::new();
            let spectra = lattices
                .iter()
                .map(|l| folder.fold(residual.view(), l))
                .collect();
            Deep { lattices, spectra }
        })
    }

    /// The families of searches the p-value counts: the base search, the deeper lattice
    /// search, and the windows when there are any.
    fn families(&self) -> usize {
        if self.window_count > 0 { 3 } else { 2 }
    }

    /// The finer scales and their windows, analysed on first use.
    fn scales(&self) -> &[region::Scale] {
        self.scales.get_or_init(|| {
            region::extra_scales(self.width, self.height)
                .into_iter()
                .map(|s| region::Scale::new(s, analysis_residual_at(&self.image, s)))
                .collect()
        })
    }

    fn too_small_note(&self) -> String {
        format!(
            "image is {}x{}; too small to carry a mark (short side below {})",
            self.width,
            self.height,
            crate::MIN_DETECT_SIDE
        )
    }
}

/// The 8 rotations and mirrors of the square tile, as matrices on tile coordinates.
const DIHEDRAL: [[[i32; 2]; 2]; 8] = [
    [[1, 0], [0, 1]],
    [[0, -1], [1, 0]],
    [[-1, 0], [0, -1]],
    [[0, 1], [-1, 0]],
    [[-1, 0], [0, 1]],
    [[0, 1], [1, 0]],
    [[1, 0], [0, -1]],
    [[0, -1], [-1, 0]],
];

/// `D^T k` for dihedral element `d`: where frequency `k` of the mark lands in the folded tile.
fn moved(d: usize, fx: i32, fy: i32) -> (i32, i32) {
    let m = DIHEDRAL[d];
    (m[0][0] * fx + m[1][0] * fy, m[0][1] * fx + m[1][1] * fy)
}

fn bin_of((fx, fy): (i32, i32)) -> usize {
    let wrap = |f: i32| f.rem_euclid(TILE as i32) as usize;
    wrap(fy) * TILE + wrap(fx)
}

/// The best synchronisation found: lattice hypothesis, dihedral element and cyclic shift.
#[derive(Clone, Copy, Debug)]
struct Sync {
    hypothesis: usize,
    dihedral: usize,
    shift: (usize, usize),
    /// Fraction of a cell to add to `shift`.
    frac: (f32, f32),
    z: f64,
}

/// A reusable detection engine for one key. Build once, call [`Detector::detect`] many times.
#[derive(Clone, Debug)]
pub struct Detector {
    config: DetectConfig,
    layout: Layout,
    fft: Fft2,
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
            surface: vec![Complex32::new(0.0, 0.0); TILE * TILE],
        })
    }

    /// This engine's settings.
    pub fn config(&self) -> &DetectConfig {
        &self.config
    }

    /// Looks for a mark in `image`.
    pub fn detect(&mut self, image: ImageRef<'_>) -> Result<Detection> {
        let analysis = Analysis::new(image, &self.config)?;
        Ok(self.detect_analysis(&analysis))
    }

    /// Looks for this engine's mark in an image already analysed.
    ///
    /// The whole image is searched at the base scale first. When that finds nothing and the
    /// image is large enough, its windows at finer scales are searched too (see
    /// [`Region`]). The p-value then counts two families, Šidák-corrected: the base search,
    /// and every window of every finer scale (Šidák-corrected among themselves). Images of
    /// 512 pixels or less on their short side have no finer scale, and their p-value is the
    /// base search's alone.
    pub fn detect_analysis(&mut self, analysis: &Analysis<'_>) -> Detection {
        let Some(residual) = analysis
            .residual
            .as_ref()
            .filter(|_| !analysis.spectra.is_empty())
        else {
            return Detection::not_searched(analysis.too_small_note());
        };
        let threshold = self.config.threshold;
        let families = analysis.families();
        let family = |p: f64| sidak(p, families);
        let base = self.score(&analysis.spectra, sync::HYPOTHESES, 1.0);
        let frame = Frame {
            residual,
            lattices: &analysis.lattices,
            s: analysis.scale,
            base_s: analysis.scale,
            origin: (0, 0),
            image: (analysis.width, analysis.height),
            fallback: Region::whole(analysis.width, analysis.height),
        };
        if base.decoded.is_some() && family(base.p_value) <= threshold {
            return self.finish(family(base.p_value), &base, &frame);
        }
        // A family's decode is skipped when even a passing check could not bring the
        // corrected p-value to the threshold; its p is then the larger one of a failed check.
        let family_limit = window_limit(threshold, families);
        let deep = analysis.deep();
        let deeper = self.score(&deep.spectra, sync::DEEP_HYPOTHESES, family_limit);
        if deeper.decoded.is_some() && deeper.p_value <= family_limit {
            let frame = Frame {
                lattices: &deep.lattices,
                ..frame
            };
            return self.finish(family(deeper.p_value), &deeper, &frame);
        }
        let whole = base.p_value.min(deeper.p_value);
        let windows = analysis.window_count;
        if windows == 0 {
            return self.finish(family(whole), &base, &frame);
        }
        let decode_below = window_limit(family_limit, windows);
        // The first window found at the threshold ends the search; otherwise the smallest
        // p-value of any window is what the windows report.
        let (mut smallest, mut found) = (1f64, None);
        'scales: for (k, scale) in analysis.scales().iter().enumerate() {
            for (i, window) in scale.windows.iter().enumerate() {
                let scored = self.score(&window.spectra, sync::HYPOTHESES, decode_below);
                smallest = smallest.min(scored.p_value);
                if scored.decoded.is_some() && scored.p_value <= decode_below {
                    found = Some((k, i, scored));
                    break 'scales;
                }
            }
        }
        let Some((k, i, windowed)) = found else {
            let p = whole.min(sidak(smallest, windows));
            return self.finish(family(p), &base, &frame);
        };
        let p_windows = sidak(windowed.p_value, windows);
        let scale = &analysis.scales()[k];
        let window = &scale.windows[i];
        let (aw, ah) = (scale.residual.dim().1, scale.residual.dim().0);
        let frame = Frame {
            residual: &scale.residual,
            lattices: &window.lattices,
            s: scale.s,
            base_s: analysis.scale,
            origin: (window.x0, window.y0),
            image: (analysis.width, analysis.height),
            fallback: Region::of_cells(
                (window.x0, (window.x0 + region::WINDOW).min(aw)),
                (window.y0, (window.y0 + region::WINDOW).min(ah)),
                1.0 / scale.s,
                (analysis.width, analysis.height),
            ),
        };
        self.finish(family(p_windows), &windowed, &frame)
    }

    /// The detection for a scored search reported with p-value `p_value`: the work ID,
    /// geometry, tile map and marked region when it is at the threshold and decoded.
    fn finish(&mut self, p_value: f64, scored: &Scored, frame: &Frame<'_>) -> Detection {
        let detected = scored.decoded.is_some() && p_value <= self.config.threshold;
        let mut detection = Detection {
            detected,
            work_id: None,
            p_value,
            sync_z: scored.sync.z,
            bit_agreement: scored.bit_agreement,
            geometry: None,
            tile_map: None,
            region: None,
            note: None,
        };
        if let (true, Some(id)) = (detected, scored.decoded) {
            let sync = &scored.sync;
            let lattice = frame.lattices[sync.hypothesis];
            let mut g = geometry(&lattice, sync.dihedral);
            // The tile's size against the image's short side: a finer scale sees it larger.
            g.scale *= frame.base_s / frame.s;
            let map = self.tile_map(frame.residual, &lattice, sync, id, frame.s, frame.origin);
            let region = region::marked_cells(
                &map.z,
                map.rows,
                map.cols,
                TileMap::STRONG_Z,
                TileMap::WEAK_Z,
            )
            .map_or(frame.fallback, |(c, r)| {
                Region::of_cells(c, r, map.cell_px, frame.image)
            });
            detection.work_id = Some(id);
            detection.geometry = Some(g);
            detection.tile_map = Some(map);
            detection.region = Some(region);
        }
        detection
    }

    /// Checks whether `image` carries one known work ID: counts the coded bits that agree with
    /// `id`'s codeword. Its p-value is the binomial tail of that count, exact under the null
    /// (the soft bits of an unmarked image are independent fair coins), and needs no search
    /// over IDs; it is stronger evidence than [`Detector::detect`] when the ID is known.
    pub fn verify(&mut self, image: ImageRef<'_>, id: WorkId) -> Result<Verification> {
        let analysis = Analysis::new(image, &self.config)?;
        let total_bits = code::CODED_BITS as u32;
        if analysis.spectra.is_empty() {
            return Ok(Verification {
                verified: false,
                matching_bits: 0,
                total_bits,
                p_value: 1.0,
                sync_z: 0.0,
            });
        }
        let (sync, soft) = self.soft_bits(&analysis.spectra);
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
            sync_z: sync.z,
        })
    }

    /// The best synchronisation of `carriers` (frequencies with their expected phases) over
    /// every lattice hypothesis, dihedral element and cyclic shift, the shift refined to a
    /// quarter cell. Its `z` is the correlation at the best integer shift in standard
    /// deviations under the null (each carrier's phase uniform).
    fn search(&mut self, spectra: &[Vec<Complex32>], carriers: &[Carrier]) -> Sync {
        let n = TILE;
        let sigma = (carriers.len() as f32 / 2.0).sqrt();
        let mut best = Sync {
            hypothesis: 0,
            dihedral: 0,
            shift: (0, 0),
            frac: (0.0, 0.0),
            z: f64::NEG_INFINITY,
        };
        const { assert!(DIHEDRAL.len().is_multiple_of(2)) };
        let half = Complex32::new(0.5, 0.0);
        let i_half = Complex32::new(0.0, 0.5);
        for (h, spectrum) in spectra.iter().enumerate() {
            for d in (0..DIHEDRAL.len()).step_by(2) {
                // Correlation over every cyclic shift at once, for two dihedral elements per
                // transform: only the real part of each correlation is wanted, which is the
                // transform of the spectrum's conjugate-symmetric part, so the second goes in
                // as the imaginary part and comes out as it.
                self.surface.fill(Complex32::new(0.0, 0.0));
                for c in carriers {
                    let first = unit(spectrum[bin_of(moved(d, c.fx, c.fy))]) * c.phase.conj();
                    let second = unit(spectrum[bin_of(moved(d + 1, c.fx, c.fy))]) * c.phase.conj();
                    self.surface[c.bin(n)] += first * half + second * i_half;
                    self.surface[c.conj_bin(n)] += first.conj() * half + second.conj() * i_half;
                }
                self.fft.inverse(&mut self.surface);
                for k in 0..2 {
                    let (at, peak) = self
                        .surface
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (i, if k == 0 { v.re } else { v.im }))
                        .fold((0, f32::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
                    let z = (peak / sigma) as f64;
                    if z > best.z {
                        best = Sync {
                            hypothesis: h,
                            dihedral: d + k,
                            shift: (at % n, at / n),
                            frac: (0.0, 0.0),
                            z,
                        };
                    }
                }
            }
        }
        // A blank image has no phases at all; never let that become a NaN p-value.
        if !best.z.is_finite() {
            best.z = 0.0;
        }
        let spectrum = &spectra[best.hypothesis];
        // The shift to a fraction of a cell, where the carriers agree best on a grid of
        // quarter cells around the peak (an image cropped at any offset moves the mark by a
        // fraction of a cell, which would turn the phase of the high carriers).
        let (ix, iy) = best.shift;
        let agree_at = |fx: f32, fy: f32| -> f32 {
            carriers
                .iter()
                .map(|c| {
                    (unit(spectrum[bin_of(moved(best.dihedral, c.fx, c.fy))])
                        * c.phase.conj()
                        * c.phasor_at(ix as f32 + fx, iy as f32 + fy))
                    .re
                })
                .sum()
        };
        let mut top = (agree_at(0.0, 0.0), 0.0, 0.0);
        for j in -2..=2 {
            for i in -2..=2 {
                let (fx, fy) = (0.25 * i as f32, 0.25 * j as f32);
                let v = agree_at(fx, fy);
                if v > top.0 {
                    top = (v, fx, fy);
                }
            }
        }
        best.frac = (top.1, top.2);
        best
    }

    /// The correlation of carrier `c`'s bin with its expected phase at synchronisation `sync`.
    fn agreement(spectra: &[Vec<Complex32>], sync: &Sync, c: &Carrier) -> Complex32 {
        let (sx, sy) = (
            sync.shift.0 as f32 + sync.frac.0,
            sync.shift.1 as f32 + sync.frac.1,
        );
        unit(spectra[sync.hypothesis][bin_of(moved(sync.dihedral, c.fx, c.fy))])
            * c.phase.conj()
            * c.phasor_at(sx, sy)
    }

    /// How well the mark survived, by frequency, at `sync`: the pilot's agreement there,
    /// fitted as a line in the radius, as a weight in [0.02, 1] for each carrier radius.
    /// Frequencies that an attack destroyed (high ones after blur or JPEG) then add little
    /// noise.
    fn reliability(
        &self,
        spectra: &[Vec<Complex32>],
        sync: &Sync,
    ) -> impl Fn(&Carrier) -> f32 + use<> {
        let agreement: Vec<(f32, f32)> = self
            .layout
            .pilot
            .iter()
            .map(|c| (radius(c), Self::agreement(spectra, sync, c).re))
            .collect();
        let line = fit_line(&agreement);
        move |c| line(radius(c)).clamp(0.02, 1.0)
    }

    /// Synchronises on the pilot over every lattice hypothesis, dihedral element and cyclic
    /// shift, and returns the best and the soft payload bits there.
    fn soft_bits(&mut self, spectra: &[Vec<Complex32>]) -> (Sync, Vec<f32>) {
        let pilot = std::mem::take(&mut self.layout.pilot);
        let best = self.search(spectra, &pilot);
        self.layout.pilot = pilot;
        let reliability = self.reliability(spectra, &best);
        let mut soft = vec![0f32; code::CODED_BITS];
        for (i, c) in self.layout.payload.iter().enumerate() {
            let v = Self::agreement(spectra, &best, c) * reliability(c);
            soft[self.layout.carrier_bit[2 * i]] += v.re;
            soft[self.layout.carrier_bit[2 * i + 1]] += v.im;
        }
        (best, soft)
    }

    /// The payload carriers as they are for work `id`: each one's key phase turned by the
    /// two coded bits it carries, so that every carrier of the mark has a known phase.
    fn known_payload(&self, id: WorkId) -> Vec<Carrier> {
        let coded = code::encode(id);
        let sym = |bit: usize| 1.0 - 2.0 * coded[bit] as f32;
        self.layout
            .payload
            .iter()
            .enumerate()
            .map(|(i, c)| Carrier {
                phase: c.phase
                    * Complex32::new(
                        sym(self.layout.carrier_bit[2 * i]),
                        sym(self.layout.carrier_bit[2 * i + 1]),
                    )
                    * std::f32::consts::FRAC_1_SQRT_2,
                ..*c
            })
            .collect()
    }

    /// Tests whether `image` carries the mark of one known work `id`, against "no mark of
    /// this work" (unmarked, or marked with another work ID): see [`WorkTest`].
    pub fn test_work(&mut self, image: ImageRef<'_>, id: WorkId) -> Result<WorkTest> {
        let analysis = Analysis::new(image, &self.config)?;
        Ok(self.test_work_analysis(&analysis, id))
    }

    /// [`Detector::test_work`] on an image already analysed. As [`Detector::detect_analysis`],
    /// when the whole image at the base scale does not show the work, the windows of the
    /// finer scales are tested too, and the p-value counts both families (Šidák).
    pub fn test_work_analysis(&mut self, analysis: &Analysis<'_>, id: WorkId) -> WorkTest {
        let blind = self.detect_analysis(analysis);
        self.test_work_after(analysis, &blind, id)
    }

    /// [`Detector::test_work_analysis`] when this engine's blind detection of the same
    /// analysis, `blind`, is at hand (it says whether another work's mark is there), so the
    /// blind search is not made again.
    pub fn test_work_after(
        &mut self,
        analysis: &Analysis<'_>,
        blind: &Detection,
        id: WorkId,
    ) -> WorkTest {
        if analysis.spectra.is_empty() {
            return WorkTest {
                work_id: id,
                present: false,
                p_value: 1.0,
                z_at_pilot: 0.0,
                z_searched: 0.0,
                sync_z: 0.0,
                other_work: None,
                note: Some(analysis.too_small_note()),
            };
        }
        // A blind decode of another ID means the image carries that work's mark; IDs that
        // share most of their codeword (one bit apart) would otherwise pass for each other.
        let other_work = blind.work_id.filter(|&d| d != id);
        let threshold = self.config.threshold;
        let families = analysis.families();
        let family = |p: f64| sidak(p, families);
        let base = self.work_statistics(&analysis.spectra, sync::HYPOTHESES, id);
        let (p_value, stats) = if family(base.p_value) <= threshold {
            (family(base.p_value), base)
        } else {
            let deep = analysis.deep();
            let deeper = if deep.spectra.is_empty() {
                None
            } else {
                Some(self.work_statistics(&deep.spectra, sync::DEEP_HYPOTHESES, id))
            };
            let mut best = match deeper {
                Some(d) if d.p_value < base.p_value => d,
                _ => base,
            };
            let windows = analysis.window_count;
            if windows > 0 && family(best.p_value) > threshold {
                'scales: for scale in analysis.scales() {
                    for window in &scale.windows {
                        let mut t = self.work_statistics(&window.spectra, sync::HYPOTHESES, id);
                        t.p_value = sidak(t.p_value, windows);
                        let stop = t.p_value <= window_limit(threshold, families);
                        if t.p_value < best.p_value {
                            best = t;
                        }
                        if stop {
                            break 'scales;
                        }
                    }
                }
            }
            (family(best.p_value), best)
        };
        WorkTest {
            work_id: id,
            present: p_value <= threshold && other_work.is_none(),
            p_value,
            z_at_pilot: stats.z_at_pilot,
            z_searched: stats.z_searched,
            sync_z: stats.sync_z,
            other_work,
            note: None,
        }
    }

    /// The known-work statistics of [`WorkTest`] on folded spectra (at least one), and
    /// their p-value, before any correction for other windows.
    fn work_statistics(
        &mut self,
        spectra: &[Vec<Complex32>],
        hypotheses: usize,
        id: WorkId,
    ) -> WorkStatistics {
        let known = self.known_payload(id);
        // (A) At the pilot's synchronisation, which depends on the pilot's bins only, the
        // payload's agreement with this work's codeword is one normal test, no search:
        // each carrier's agreement is the cosine of a uniform phase under the null, weighted
        // by the pilot's reliability at its radius.
        let pilot = std::mem::take(&mut self.layout.pilot);
        let pilot_sync = self.search(spectra, &pilot);
        self.layout.pilot = pilot;
        let reliability = self.reliability(spectra, &pilot_sync);
        let (mut sum, mut weights) = (0f64, 0f64);
        for c in &known {
            let w = reliability(c) as f64;
            sum += w * Self::agreement(spectra, &pilot_sync, c).re as f64;
            weights += w * w;
        }
        let z_at_pilot = if weights > 0.0 {
            sum / (weights / 2.0).sqrt()
        } else {
            0.0
        };
        // (B) When the pilot is too weak to synchronise, the work's own payload carriers
        // (3.5 times as many) search every candidate the blind detector searches.
        let searched = self.search(spectra, &known);
        let p_a = normal_sf(z_at_pilot);
        let p_b = max_normal_sf(searched.z, self::searched(hypotheses));
        WorkStatistics {
            // The better of the two, Bonferroni-corrected for taking it.
            p_value: (2.0 * p_a.min(p_b)).min(1.0),
            z_at_pilot,
            z_searched: searched.z,
            sync_z: pilot_sync.z,
        }
    }

    /// Correlates folded spectra (one per lattice hypothesis, at most [`sync::HYPOTHESES`],
    /// all of them counted whether found or not) with the pilot and decodes the payload,
    /// unless even a passing check could not bring the p-value to `decode_below`.
    fn score(
        &mut self,
        spectra: &[Vec<Complex32>],
        hypotheses: usize,
        decode_below: f64,
    ) -> Scored {
        let (sync, soft) = self.soft_bits(spectra);
        let p_sync = max_normal_sf(sync.z, searched(hypotheses));
        let decoded = if combined_p(p_sync, true, code::CHECK_FALSE_PASS) <= decode_below {
            code::decode(&soft)
        } else {
            None
        };
        let bit_agreement = decoded.map_or(0.0, |id| {
            let coded = code::encode(id);
            coded
                .iter()
                .zip(&soft)
                .map(|(&b, &s)| if (s > 0.0) == (b == 0) { 1.0 } else { -1.0 })
                .sum::<f64>()
                / coded.len() as f64
        });
        Scored {
            p_value: combined_p(p_sync, decoded.is_some(), code::CHECK_FALSE_PASS),
            sync,
            decoded,
            bit_agreement,
        }
    }

    /// Correlates every region of the residual with the mark for `id` as synchronised.
    fn tile_map(
        &mut self,
        residual: &Array2<f32>,
        lattice: &Lattice,
        sync: &Sync,
        id: WorkId,
        scale: f64,
        origin: (usize, usize),
    ) -> TileMap {
        // The expected folded tile: the mark's spectrum moved by the dihedral element and
        // shifted, then brought to space.
        let n = TILE;
        let mark = self.layout.spectrum(&code::encode(id), n);
        let half = (n / 2) as i32;
        self.surface.fill(Complex32::new(0.0, 0.0));
        for fy in -half + 1..half {
            for fx in -half + 1..half {
                let c = crate::tile::Carrier {
                    fx,
                    fy,
                    phase: Complex32::new(1.0, 0.0),
                };
                let v = mark[c.bin(n)];
                if v != Complex32::new(0.0, 0.0) {
                    let shifted = v * c
                        .phasor_at(
                            sync.shift.0 as f32 + sync.frac.0,
                            sync.shift.1 as f32 + sync.frac.1,
                        )
                        .conj();
                    self.surface[bin_of(moved(sync.dihedral, fx, fy))] = shifted;
                }
            }
        }
        self.fft.inverse(&mut self.surface);
        let (h, w) = residual.dim();
        let (rows, cols) = (h.div_ceil(MAP_CELL), w.div_ceil(MAP_CELL));
        let mut num = vec![0f64; rows * cols];
        let mut den = vec![0f64; rows * cols];
        // Tile coordinates advance by the lattice's first column along a row; `n` is a power
        // of two, so wrapping onto the tile is a mask (the same as `rem_euclid`).
        const { assert!(TILE.is_power_of_two()) };
        let mask = n as i64 - 1;
        let (du, dv) = (to_fixed(lattice.m[0][0]), to_fixed(lattice.m[1][0]));
        // The synchronisation is relative to `origin`, the corner of the window it was found in.
        let (ox, oy) = (origin.0 as f64, origin.1 as f64);
        for (y, row) in residual.rows().into_iter().enumerate() {
            let (u, v) = lattice.apply(-ox, y as f64 - oy);
            let (mut u, mut v) = (to_fixed(u) + FIXED_HALF, to_fixed(v) + FIXED_HALF);
            let cells = (y / MAP_CELL) * cols;
            for (cx, part) in row.axis_chunks_iter(ndarray::Axis(0), MAP_CELL).enumerate() {
                // One cell's stretch of the row, summed in f32 (at most MAP_CELL terms).
                let (mut a, mut b) = (0f32, 0f32);
                for &r in part {
                    let cu = ((u >> FIXED_BITS) & mask) as usize;
                    let cv = ((v >> FIXED_BITS) & mask) as usize;
                    let p = r * self.surface[cv * n + cu].re;
                    a += p;
                    b += p * p;
                    u += du;
                    v += dv;
                }
                num[cells + cx] += a as f64;
                den[cells + cx] += b as f64;
            }
        }
        TileMap {
            rows,
            cols,
            cell_px: MAP_CELL as f64 / scale,
            z: num
                .iter()
                .zip(&den)
                .map(|(a, b)| if *b > 0.0 { (a / b.sqrt()) as f32 } else { 0.0 })
                .collect(),
        }
    }
}

/// A search of one set of folded spectra, before any correction for other searches.
struct Scored {
    /// The search's own p-value (every candidate of [`SEARCHED`], and the check).
    p_value: f64,
    sync: Sync,
    /// The work ID whose check passed, if any.
    decoded: Option<WorkId>,
    bit_agreement: f64,
}

/// [`Detector::work_statistics`]' result.
struct WorkStatistics {
    p_value: f64,
    z_at_pilot: f64,
    z_searched: f64,
    sync_z: f64,
}

/// The analysis plane a search was made in, to locate what it found.
struct Frame<'r> {
    residual: &'r Array2<f32>,
    lattices: &'r [Lattice],
    /// Analysis pixels per image pixel of this plane, and of the base scale.
    s: f64,
    base_s: f64,
    /// Corner of the window searched, in this plane's pixels.
    origin: (usize, usize),
    /// Image size.
    image: (u32, u32),
    /// The region reported when no cell of the tile map is strong: what was searched.
    fallback: Region,
}

/// `1 - (1 - p)^n`: the p-value of the smallest of `n` independent p-values `p`.
fn sidak(p: f64, n: usize) -> f64 {
    (-(n as f64 * (-p).ln_1p()).exp_m1()).clamp(0.0, 1.0)
}

/// The largest p-value of one of `n` windows that still gives `sidak(p, n) <= alpha`.
fn window_limit(alpha: f64, n: usize) -> f64 {
    -((1.0 - alpha).ln() / n as f64).exp_m1()
}

/// `c` scaled to unit magnitude (0 stays 0): the detector uses phases only.
fn unit(c: Complex32) -> Complex32 {
    let m = c.norm();
    if m > 0.0 { c / m } else { c }
}

/// A carrier's frequency radius, in cycles per tile.
fn radius(c: &Carrier) -> f32 {
    ((c.fx * c.fx + c.fy * c.fy) as f32).sqrt()
}

/// Side of a tile-map cell, in analysis pixels.
const MAP_CELL: usize = TILE;

/// The transform from the embedded mark to the image, from the lattice and dihedral element
/// that synchronised.
fn geometry(lattice: &Lattice, dihedral: usize) -> Geometry {
    // Tile coordinates t = D M x; the image is the embedded mark under A = (D M)^-1.
    let d = DIHEDRAL[dihedral].map(|r| r.map(f64::from));
    let m = lattice.m;
    let dm = [
        [
            d[0][0] * m[0][0] + d[0][1] * m[1][0],
            d[0][0] * m[0][1] + d[0][1] * m[1][1],
        ],
        [
            d[1][0] * m[0][0] + d[1][1] * m[1][0],
            d[1][0] * m[0][1] + d[1][1] * m[1][1],
        ],
    ];
    let det = dm[0][0] * dm[1][1] - dm[0][1] * dm[1][0];
    let a = [
        [dm[1][1] / det, -dm[0][1] / det],
        [-dm[1][0] / det, dm[0][0] / det],
    ];
    let mirrored = det < 0.0;
    // Undo a horizontal mirror, then A = R S: the rotation of the polar decomposition.
    let b = if mirrored {
        [[-a[0][0], a[0][1]], [-a[1][0], a[1][1]]]
    } else {
        a
    };
    // Image y points down, so a counter-clockwise turn on screen is a negative angle here.
    let rotation = -(b[1][0] - b[0][1]).atan2(b[0][0] + b[1][1]).to_degrees();
    // Singular values of A.
    let p = b[0][0] * b[0][0] + b[0][1] * b[0][1] + b[1][0] * b[1][0] + b[1][1] * b[1][1];
    let det_a = 1.0 / det;
    let q = (p * p - 4.0 * det_a * det_a).max(0.0).sqrt();
    let (s1, s2) = (((p + q) / 2.0).sqrt(), ((p - q) / 2.0).max(0.0).sqrt());
    Geometry {
        rotation_deg: if rotation <= -180.0 {
            rotation + 360.0
        } else {
            rotation
        },
        scale: (s1 * s2).sqrt(),
        aspect: if s2 > 0.0 { s1 / s2 } else { f64::INFINITY },
        mirrored,
    }
}

/// Least-squares line through `(x, y)` points, as a function of `x`.
fn fit_line(points: &[(f32, f32)]) -> impl Fn(f32) -> f32 + use<> {
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
    analysis_residual_at(image, ANALYSIS_SHORT_SIDE as f64 / w.min(h))
}

/// [`analysis_residual`] at `s` analysis pixels per image pixel.
fn analysis_residual_at(image: &ImageRef<'_>, s: f64) -> Array2<f32> {
    let (w, h) = (image.width as f64, image.height as f64);
    let (aw, ah) = (
        ((w * s).round() as usize).max(1),
        ((h * s).round() as usize).max(1),
    );
    let mut r = resample_luma(image, s, ah, aw);
    let prediction = predict_host(&r);
    r -= &prediction;
    let mut squares = prediction;
    ndarray::Zip::from(&mut squares)
        .and(&r)
        .for_each(|q, &v| *q = v * v);
    let energy = box_mean(&squares, ENERGY_RADIUS);
    ndarray::Zip::from(&mut r).and(&energy).for_each(|v, &e| {
        // `max`: a running box sum can leave a tiny negative energy where the residual is 0.
        *v = (*v / (e.max(0.0).sqrt() + ENERGY_FLOOR)).clamp(-CLIP, CLIP);
    });
    pool::give_plane(squares);
    pool::give_plane(energy);
    r
}

/// The prediction of the host luma at each analysis pixel, to be subtracted before folding:
/// the local mean, or at edges ([`EDGE_SWITCH`]) the 3x3 median.
fn predict_host(r: &Array2<f32>) -> Array2<f32> {
    let mut prediction = box_mean(r, PREDICTOR_RADIUS);
    let med = median3(r);
    ndarray::Zip::from(&mut prediction)
        .and(&med)
        .for_each(|p, &m| {
            if (m - *p).abs() > EDGE_SWITCH {
                *p = m;
            }
        });
    pool::give_plane(med);
    prediction
}

/// The median of each pixel's 3x3 neighbourhood (the window clipped at the borders): a
/// prediction of the host that follows steps and ramps, so edges leave no residual.
fn median3(src: &Array2<f32>) -> Array2<f32> {
    let (h, w) = src.dim();
    let mut out = pool::plane_any(h, w);
    // The clipped window at the borders (and everywhere on images under 3 pixels a side).
    let clipped = |y: usize, x: usize| -> f32 {
        let (y0, y1) = (y.saturating_sub(1), (y + 1).min(h - 1));
        let (x0, x1) = (x.saturating_sub(1), (x + 1).min(w - 1));
        let mut win = [0f32; 9];
        let mut n = 0;
        for yy in y0..=y1 {
            for xx in x0..=x1 {
                win[n] = src[(yy, xx)];
                n += 1;
            }
        }
        let v = &mut win[..n];
        let mid = n / 2;
        v.select_nth_unstable_by(mid, f32::total_cmp);
        if n % 2 == 1 {
            v[mid]
        } else {
            let lower = v[..mid].iter().copied().fold(f32::NEG_INFINITY, f32::max);
            0.5 * (lower + v[mid])
        }
    };
    let interior = h >= 3 && w >= 3;
    if let (true, Some(s), Some(o)) = (interior, src.as_slice(), out.as_slice_mut()) {
        // Inside: sort each column's three values once, then the median of the window is the
        // median of (the largest of the three column minima, the median of the column
        // medians, the smallest of the column maxima). Plain min/max loops over rows.
        let (mut lo, mut mid, mut hi) = (vec![0f32; w], vec![0f32; w], vec![0f32; w]);
        for y in 1..h - 1 {
            let (r0, r1, r2) = (
                &s[(y - 1) * w..y * w],
                &s[y * w..(y + 1) * w],
                &s[(y + 1) * w..(y + 2) * w],
            );
            for x in 0..w {
                let (a, b, c) = (r0[x], r1[x], r2[x]);
                let (ab_lo, ab_hi) = (a.min(b), a.max(b));
                lo[x] = ab_lo.min(c);
                hi[x] = ab_hi.max(c);
                mid[x] = ab_lo.max(ab_hi.min(c));
            }
            let row = &mut o[y * w..(y + 1) * w];
            for x in 1..w - 1 {
                let a = lo[x - 1].max(lo[x]).max(lo[x + 1]);
                let b = median_of_3(mid[x - 1], mid[x], mid[x + 1]);
                let c = hi[x - 1].min(hi[x]).min(hi[x + 1]);
                row[x] = median_of_3(a, b, c);
            }
        }
        for y in 0..h {
            for x in [0, w - 1] {
                o[y * w + x] = clipped(y, x);
            }
        }
        for x in 1..w - 1 {
            for y in [0, h - 1] {
                o[y * w + x] = clipped(y, x);
            }
        }
    } else {
        for y in 0..h {
            for x in 0..w {
                out[(y, x)] = clipped(y, x);
            }
        }
    }
    out
}

#[inline(always)]
fn median_of_3(a: f32, b: f32, c: f32) -> f32 {
    a.min(b).max(a.max(b).min(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Folded spectra of white noise, one per lattice hypothesis: every spectral phase
    /// uniform, which is what a random key sees in any unmarked image.
    fn noise_spectra(rng: &mut ChaCha8Rng, fft: &mut Fft2) -> Vec<Vec<Complex32>> {
        (0..sync::HYPOTHESES)
            .map(|_| {
                let mut s: Vec<Complex32> = (0..TILE * TILE)
                    .map(|_| Complex32::new(rng.random::<f32>() - 0.5, 0.0))
                    .collect();
                fft.forward(&mut s);
                s
            })
            .collect()
    }

    /// Null-hypothesis detections: white noise folded tiles, one per lattice hypothesis
    /// (every spectral phase uniform, which is what a random key sees in any unmarked image).
    fn null_p_values(trials: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut det = match Detector::new(&Key::generate(&mut rng), DetectConfig::default()) {
            Ok(d) => d,
            Err(e) => unreachable!("{e}"),
        };
        let mut fft = Fft2::new(TILE);
        (0..trials)
            .map(|_| {
                let spectra = noise_spectra(&mut rng, &mut fft);
                det.score(&spectra, sync::HYPOTHESES, 1.0).p_value
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

    /// Largest excess of the empirical distribution function over the uniform one: how
    /// anti-conservative the p-values are (one-sided Kolmogorov-Smirnov statistic D+).
    fn ks_excess(mut p: Vec<f64>) -> f64 {
        p.sort_by(f64::total_cmp);
        let n = p.len() as f64;
        p.iter()
            .enumerate()
            .map(|(i, &v)| (i + 1) as f64 / n - v)
            .fold(0.0, f64::max)
    }

    #[test]
    fn sync_null_distribution_matches_the_model() {
        let p = null_p_values(3000, 1);
        // The 8 rotations and mirrors of one folded tile are not quite independent, so the
        // Sidak model is conservative in the bulk (about 0.85 alpha at alpha 0.1-0.5) and
        // exact in the tail. Never anti-conservative: one-sided KS at alpha = 0.001 is
        // 1.86 / sqrt(n).
        let excess = ks_excess(p.clone());
        assert!(excess < 1.86 / (3000f64).sqrt(), "KS D+ {excess}");
        // Not uselessly conservative either.
        let d = ks_uniform(p.clone());
        assert!(d < 0.1, "KS distance {d}");
        // The tail, where detections happen, follows the model: P(p <= 0.01) near 0.01.
        let low = p.iter().filter(|&&v| v <= 0.01).count();
        assert!((15..=50).contains(&low), "{low} of 3000 below 0.01");
    }

    #[test]
    fn the_work_test_is_calibrated_on_noise_and_random_ids() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut det = match Detector::new(&Key::generate(&mut rng), DetectConfig::default()) {
            Ok(d) => d,
            Err(e) => unreachable!("{e}"),
        };
        let mut fft = Fft2::new(TILE);
        let p: Vec<f64> = (0..1500)
            .map(|_| {
                let spectra = noise_spectra(&mut rng, &mut fft);
                det.work_statistics(&spectra, sync::HYPOTHESES, WorkId(rng.random()))
                    .p_value
            })
            .collect();
        assert!(p.iter().all(|&v| v > 1e-6));
        // Never anti-conservative (one-sided KS at alpha = 0.001), and not useless either:
        // the Bonferroni factor 2 makes it conservative in the bulk.
        let excess = ks_excess(p.clone());
        assert!(excess < 1.86 / (1500f64).sqrt(), "KS D+ {excess}");
        let low = p.iter().filter(|&&v| v <= 0.02).count();
        assert!((5..=45).contains(&low), "{low} of 1500 at or below 0.02");
    }

    #[test]
    fn the_host_prediction_follows_edges_and_averages_elsewhere() {
        // A vertical step from 40 to 220 over a faint texture of +-1 level.
        let (h, w) = (24, 24);
        let texture = |y: usize, x: usize| if (x * 7 + y * 13) % 5 < 2 { 1.0 } else { -1.0 };
        let img = Array2::from_shape_fn((h, w), |(y, x)| {
            (if x < 12 { 40.0 } else { 220.0 }) + texture(y, x)
        });
        let pred = predict_host(&img);
        let mean = box_mean(&img, PREDICTOR_RADIUS);
        for y in 1..h - 1 {
            // At the step the mean is off by a third of the contrast; the prediction is not.
            for x in [11, 12] {
                assert!((img[(y, x)] - mean[(y, x)]).abs() > 50.0);
                assert!((img[(y, x)] - pred[(y, x)]).abs() <= 2.0, "({y}, {x})");
            }
            // Away from it the prediction is the local mean, so the faint texture (and a
            // mark) stays in the residual.
            for x in (1..9).chain(15..w - 1) {
                assert_eq!(pred[(y, x)], mean[(y, x)], "({y}, {x})");
            }
        }
    }

    #[test]
    fn the_fast_median_is_the_median() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        // Few distinct values, so ties are common; the inside and the clipped borders.
        let (h, w) = (37usize, 41usize);
        let img = Array2::from_shape_fn((h, w), |_| (rng.random::<f32>() * 6.0).floor());
        let m = median3(&img);
        for y in 0..h {
            for x in 0..w {
                let mut win: Vec<f32> = (y.saturating_sub(1)..=(y + 1).min(h - 1))
                    .flat_map(|yy| {
                        (x.saturating_sub(1)..=(x + 1).min(w - 1)).map(move |xx| (yy, xx))
                    })
                    .map(|p| img[p])
                    .collect();
                win.sort_by(f32::total_cmp);
                let n = win.len();
                let want = if n % 2 == 1 {
                    win[n / 2]
                } else {
                    0.5 * (win[n / 2 - 1] + win[n / 2])
                };
                assert_eq!(m[(y, x)], want, "({y}, {x})");
            }
        }
    }

    #[test]
    fn median_of_three_by_three() {
        let img = Array2::from_shape_fn((3, 4), |(y, x)| {
            (y * 4 + x) as f32 * if x == 1 { 10.0 } else { 1.0 }
        });
        let m = median3(&img);
        // Centre (1, 1): the window is rows 0-2, columns 0-2: 0 10 2 4 50 6 8 90 10 -> 8.
        assert_eq!(m[(1, 1)], 8.0);
        // Corner (0, 0): the clipped window 0 10 4 50 has the median (4 + 10) / 2.
        assert_eq!(m[(0, 0)], 7.0);
    }

    #[test]
    fn noise_is_never_detected() {
        assert!(null_p_values(500, 2).iter().all(|&p| p > 1e-6));
    }
}
