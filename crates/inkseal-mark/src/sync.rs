//! Geometric synchronisation: finds the lattice on which the periodic tile repeats in the
//! whitened image, and folds the image along it.
//!
//! The tile repeats with a fixed period, so the mark puts peaks on a lattice in the
//! autocorrelation of the whitened image, wherever the image was rotated, scaled, squeezed,
//! sheared or cropped. The autocorrelation is computed from a spectrum whose smooth envelope
//! (the host image) is divided out, which leaves mostly the mark's sharp lattice of peaks. The
//! strongest peaks propose pairs of basis vectors; each pair is scored by the autocorrelation
//! on the lattice it generates, and the best are refined by least squares over every lattice
//! point in view. What a lattice cannot tell apart (which basis vector is which, signs, a
//! mirror) is left to the 8 dihedral candidates of the pilot correlation, and translation to
//! its cyclic shifts.

use std::f64::consts::SQRT_2;

#[cfg(test)]
use ndarray::Array2;
use ndarray::ArrayView2;
use rustfft::num_complex::Complex32;

use crate::fft::{Fft2, RealFft2};
use crate::num::{fast_exp, fast_ln, round_i64};
use crate::pool;
use crate::tile::{CARRIER_BAND, TILE};

/// Lattice hypotheses the detector evaluates per image: the one implied by the image size
/// (no geometric change) and the best estimates from the autocorrelation. The p-value always
/// counts this many, even when fewer estimates were found.
pub(crate) const HYPOTHESES: usize = 3;
/// Lattice hypotheses of the deeper search ([`deep_hypotheses`]), counted by its p-value
/// whether found or not. Every image the base search does not find pays for them (a fold
/// and a keyed search each): on the probe set (testdata/ and art/, 7 attacks) 16 lattices
/// from 128 refined squares found 13 more works, 8 from 64 found 11, and 8 keep the scan of
/// 0.2-MP shards at ~70% of its images per second before the deeper search, 16 at ~57%.
pub(crate) const DEEP_HYPOTHESES: usize = 8;
/// Square lattices of the coarse grid refined for the base and the deeper search.
const COARSE_KEPT: usize = 16;
const DEEP_COARSE_KEPT: usize = 64;
/// Autocorrelation score ([`Acf::score`]) from which a lattice the base search found nothing
/// along is taken for a periodic host's and masked before the deeper search. The pattern
/// illustrations of testdata/art/ score 15-21; marks found in the deeper search score 3-8.
const HOST_LATTICE_Z: f64 = 10.0;
/// Shortest and longest tile period searched, in analysis pixels (nominal: `TILE`). The
/// longest is bounded by the analysis image itself: a period needs two repeats in view.
const MIN_PERIOD: f64 = 36.0;
const MAX_PERIOD: f64 = 136.0;
/// Largest ratio of the two period lengths (aspect change and shear): 2.1 takes a 16:9 work
/// squashed to a square (1.78) and a 2:1 squash either way. On `examples/quality` at 1.45 a
/// square squash kept 4 of 7 IDs on testdata/ and 7 of 14 on art/; at 2.1, 7 of 7 and 14 of
/// 14, with no other row changed. The number of lattices searched stays `HYPOTHESES`.
const MAX_RATIO: f64 = 2.1;
/// Smallest angle between the two periods, in degrees (90 without shear or aspect change).
const MIN_ANGLE_DEG: f64 = 62.0;
/// Frequencies below this (cycles per analysis pixel) hold host image, not mark.
const MIN_FREQ: f64 = 0.025;
/// Half-width, in frequency bins, of the window estimating the spectral envelope.
const ENVELOPE_RADIUS: usize = 12;
/// Cap of a whitened spectral value, so a few huge peaks (textures, block grids) cannot
/// dominate the autocorrelation.
const PEAK_CAP: f32 = 8.0;
/// Width, in analysis pixels, of the raised-cosine taper at the image border.
const TAPER: usize = 12;
/// Autocorrelation peaks considered as basis vectors.
const CANDIDATE_PEAKS: usize = 40;
/// Oversampling of the grid the image is folded into.
const FOLD_OVERSAMPLE: usize = 2;
/// The Euler-Mascheroni constant.
const EULER_GAMMA: f32 = 0.577_215_7;

/// A linear map from analysis pixels `(x, y)` (column, row) to tile cells `(u, v)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Lattice {
    pub(crate) m: [[f64; 2]; 2],
}

impl Lattice {
    /// The lattice of an image that was not geometrically changed: one tile cell per
    /// analysis pixel along the image axes.
    pub(crate) const IDENTITY: Lattice = Lattice {
        m: [[1.0, 0.0], [0.0, 1.0]],
    };

    /// The lattice whose periods are `a` and `b` (analysis pixels, `(x, y)`).
    pub(crate) fn from_periods(a: [f64; 2], b: [f64; 2]) -> Option<Lattice> {
        let det = a[0] * b[1] - b[0] * a[1];
        if det.abs() < 1.0 {
            return None;
        }
        let t = TILE as f64 / det;
        Some(Lattice {
            m: [[b[1] * t, -b[0] * t], [-a[1] * t, a[0] * t]],
        })
    }

    /// Tile coordinates of analysis pixel `(x, y)`.
    pub(crate) fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.m[0][0] * x + self.m[0][1] * y,
            self.m[1][0] * x + self.m[1][1] * y,
        )
    }

    /// Whether `other` describes the same point set to within `tol` of a period everywhere
    /// in a window of a few periods.
    pub(crate) fn same_points(&self, other: &Lattice, tol: f64) -> bool {
        // other's periods in our tile units: integer with det +-1 when the lattices agree.
        let Some(inv) = other.inverse() else {
            return false;
        };
        let c = mul(self.m, inv);
        let near_int = c.iter().flatten().all(|v| {
            let scaled = v / TILE as f64;
            (scaled - scaled.round()).abs() < tol
        });
        let det = (c[0][0] * c[1][1] - c[0][1] * c[1][0]) / (TILE * TILE) as f64;
        near_int && (det.abs() - 1.0).abs() < 4.0 * tol
    }

    /// The two periods `(a, b)`, in analysis pixels.
    fn periods(&self) -> Option<([f64; 2], [f64; 2])> {
        let inv = self.inverse()?;
        Some(([inv[0][0], inv[1][0]], [inv[0][1], inv[1][1]]))
    }

    /// The periods as columns: the inverse map times `TILE`.
    fn inverse(&self) -> Option<[[f64; 2]; 2]> {
        let m = self.m;
        let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
        if det.abs() < 1e-12 {
            return None;
        }
        let t = TILE as f64 / det;
        Some([[m[1][1] * t, -m[0][1] * t], [-m[1][0] * t, m[0][0] * t]])
    }
}

fn mul(a: [[f64; 2]; 2], b: [[f64; 2]; 2]) -> [[f64; 2]; 2] {
    let mut c = [[0.0; 2]; 2];
    for (i, row) in c.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = a[i][0] * b[0][j] + a[i][1] * b[1][j];
        }
    }
    c
}

/// The lattice hypotheses for a whitened analysis image: the identity first, then up to
/// `HYPOTHESES - 1` estimates, best first.
pub(crate) fn hypotheses(r: ArrayView2<'_, f32>) -> Vec<Lattice> {
    search_lattices(r, false).0
}

/// [`hypotheses`], and the autocorrelation they came from, for [`deep_hypotheses`].
pub(crate) fn hypotheses_and_acf(r: ArrayView2<'_, f32>) -> (Vec<Lattice>, Option<Acf>) {
    search_lattices(r, true)
}

/// [`hypotheses`] and their autocorrelation, which keeps its whitened spectrum (for the
/// bands of the deeper search) only when `keep_whitened`: the windows never search deeper.
fn search_lattices(r: ArrayView2<'_, f32>, keep_whitened: bool) -> (Vec<Lattice>, Option<Acf>) {
    let mut out = vec![Lattice::IDENTITY];
    let Some(acf) = Acf::new(r, keep_whitened) else {
        return (out, None);
    };
    for lattice in acf.estimates(HYPOTHESES, COARSE_KEPT) {
        if out.len() == HYPOTHESES {
            break;
        }
        if !out.iter().any(|l| l.same_points(&lattice, 0.0015)) {
            out.push(lattice);
        }
    }
    (out, Some(acf))
}

/// Lattices of the deeper search: up to [`DEEP_HYPOTHESES`] further estimates, none the same
/// as one of `base`, from the autocorrelation with the points of `base`'s estimates masked
/// out. A periodic host (a pattern, a tiling) makes the strongest lattices, and its sub- and
/// super-lattices take every place among the best few; a small or compressed work's mark is
/// too faint in the autocorrelation to be among them, but usually among the best few dozen.
pub(crate) fn deep_hypotheses(acf: &Acf, base: &[Lattice]) -> Vec<Lattice> {
    let Some(mut acf) = acf.with_bands() else {
        return Vec::new();
    };
    // Only a strong lattice is masked: that the base search found nothing along it makes it
    // a periodic host's. A weak one may be the mark's own, estimated a little off (under a
    // perspective, say), which a band's autocorrelation estimates better. (Masking every
    // strong peak instead lost flat clip art, whose marks make strong peaks.)
    for l in base.iter().filter(|l| **l != Lattice::IDENTITY) {
        if let Some((a, b)) = l.periods()
            && acf.score_on(&acf.z3, a, b, 3) >= HOST_LATTICE_Z
        {
            acf.mask(l);
        }
    }
    let mut out: Vec<Lattice> = Vec::new();
    for lattice in acf.estimates(DEEP_HYPOTHESES + base.len(), DEEP_COARSE_KEPT) {
        if out.len() == DEEP_HYPOTHESES {
            break;
        }
        if !out
            .iter()
            .chain(base)
            .any(|l| l.same_points(&lattice, 0.0015))
        {
            out.push(lattice);
        }
    }
    out
}

impl Drop for Acf {
    fn drop(&mut self) {
        if self.whitened.capacity() > 0 {
            pool::give(std::mem::take(&mut self.whitened));
        }
        for plane in [std::mem::take(&mut self.z), std::mem::take(&mut self.z3)]
            .into_iter()
            .chain(
                std::mem::take(&mut self.bands)
                    .into_iter()
                    .flat_map(|b| [b.z, b.z3]),
            )
        {
            pool::give(plane);
        }
    }
}

/// Autocorrelation of the spectrally whitened image, as z-scores, indexed by wrapped lag.
pub(crate) struct Acf {
    h: usize,
    w: usize,
    z: Vec<f32>,
    /// The 3x3 maximum of `z`, itself standardised: a lattice point's score that tolerates
    /// a pixel of error.
    z3: Vec<f32>,
    /// The whitened half spectrum the autocorrelation was made from.
    whitened: Vec<Complex32>,
    /// For the deeper search ([`Acf::with_bands`]): the same autocorrelation from the band of
    /// frequencies where the mark's carriers lie when its periods are within a range.
    /// Lattices with both periods in a band's range are scored there, without the noise of
    /// the frequencies that cannot hold the mark.
    bands: Vec<Band>,
}

impl std::fmt::Debug for Acf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Acf({}x{})", self.w, self.h)
    }
}

/// [`Acf`] from one band of frequencies.
struct Band {
    /// The periods, in analysis pixels, whose carriers the band holds.
    periods: (f64, f64),
    z: Vec<f32>,
    z3: Vec<f32>,
}

/// The period ranges of [`Acf::bands`], overlapping so that every square lattice of the
/// search is in one of them.
const BAND_PERIODS: [(f64, f64); 3] = [(MIN_PERIOD, 64.0), (52.0, 96.0), (80.0, MAX_PERIOD)];

impl Acf {
    fn new(r: ArrayView2<'_, f32>, keep_whitened: bool) -> Option<Acf> {
        let (rh, rw) = r.dim();
        // Sizes with small factors keep the FFT fast.
        let (h, w) = (rh / 16 * 16, rw / 16 * 16);
        if h < 4 * TAPER || w < 4 * TAPER {
            return None;
        }
        let (oy, ox) = ((rh - h) / 2, (rw - w) / 2);
        let taper = |i: usize, n: usize| {
            let d = i.min(n - 1 - i);
            if d >= TAPER {
                1.0
            } else {
                0.5 - 0.5 * (std::f32::consts::PI * (d as f32 + 0.5) / TAPER as f32).cos()
            }
        };
        let total = match r.as_slice() {
            Some(all) => sums(all).0,
            None => r.iter().map(|&v| v as f64).sum(),
        };
        let mean = (total / (rh * rw) as f64) as f32;
        let tx: Vec<f32> = (0..w).map(|x| taper(x, w)).collect();
        let mut fft = RealFft2::new(h, w)?;
        let hw = fft.half_width();
        let mut plane: Vec<f32> = pool::take_any(h * w);
        for (y, out) in plane.chunks_exact_mut(w).enumerate() {
            let ty = taper(y, h);
            let row = r.row(y + oy);
            for ((d, &v), &t) in out.iter_mut().zip(row.iter().skip(ox)).zip(&tx) {
                *d = (v - mean) * ty * t;
            }
        }
        // The spectrum of a real plane: only the half with non-negative horizontal
        // frequency is computed and whitened; the inverse brings back the whole real plane.
        let mut data: Vec<Complex32> = pool::take_any(h * hw);
        fft.forward(&mut plane, &mut data).ok()?;
        // The envelope is the geometric mean of the power around each bin, not its mean:
        // the sharp harmonics of a periodic host (a pattern, a texture) would otherwise
        // inflate the envelope everywhere near them and flatten the mark's peaks.
        let mut power: Vec<f32> = pool::take_any(h * hw);
        let mut total = 0f64;
        for (p, c) in power.iter_mut().zip(&data) {
            *p = c.norm_sqr();
            total += *p as f64;
        }
        let floor = (total / power.len() as f64 * 1e-9) as f32 + f32::MIN_POSITIVE;
        for p in power.iter_mut() {
            *p = fast_ln(*p + floor);
        }
        let mut envelope = half_box_mean(&power, h, w, ENVELOPE_RADIUS);
        pool::give(power);
        // exp(E[ln P]) of exponentially distributed power is its mean times e^-gamma.
        for e in envelope.iter_mut() {
            *e = fast_exp(*e + EULER_GAMMA);
        }
        let fxs: Vec<f64> = (0..hw).map(|kx| kx as f64 / w as f64).collect();
        for ky in 0..h {
            let fy = signed_frequency(ky, h);
            for (kx, &fx) in fxs.iter().enumerate() {
                let i = ky * hw + kx;
                let q = if fx * fx + fy * fy < MIN_FREQ * MIN_FREQ || envelope[i] <= 0.0 {
                    0.0
                } else {
                    (data[i].norm_sqr() / envelope[i] - 1.0).clamp(-1.0, PEAK_CAP)
                };
                data[i] = Complex32::new(q, 0.0);
            }
        }
        pool::give(envelope);
        let mut raw = plane;
        let whitened: Vec<Complex32> = if keep_whitened {
            let mut copy: Vec<Complex32> = pool::take_any(h * hw);
            copy.copy_from_slice(&data);
            copy
        } else {
            Vec::new()
        };
        fft.inverse(&mut data, &mut raw).ok()?;
        pool::give(data);
        let (z, z3) = z_planes(&raw, h, w);
        pool::give(raw);
        Some(Acf {
            h,
            w,
            z,
            z3,
            whitened,
            bands: Vec::new(),
        })
    }

    /// A copy with [`Acf::bands`] made from the whitened spectrum.
    fn with_bands(&self) -> Option<Acf> {
        let (h, w) = (self.h, self.w);
        if self.whitened.len() != h * (w / 2 + 1) {
            return None;
        }
        let mut fft = RealFft2::new(h, w)?;
        let hw = fft.half_width();
        // The carriers' band in cycles per tile, widened a little for the aspect changes a
        // band's range still holds.
        let (inner, outer) = (CARRIER_BAND.0 * 0.9, CARRIER_BAND.1 * 1.1);
        let mut bands = Vec::with_capacity(BAND_PERIODS.len());
        let mut raw: Vec<f32> = pool::take_any(h * w);
        let mut band_data: Vec<Complex32> = pool::take_any(h * hw);
        for &(lo, hi) in &BAND_PERIODS {
            let (f_lo, f_hi) = (inner / hi, outer / lo);
            for ky in 0..h {
                let fy = signed_frequency(ky, h);
                for kx in 0..hw {
                    let i = ky * hw + kx;
                    let fx = kx as f64 / w as f64;
                    let f2 = fx * fx + fy * fy;
                    band_data[i] = if (f_lo * f_lo..=f_hi * f_hi).contains(&f2) {
                        self.whitened[i]
                    } else {
                        Complex32::new(0.0, 0.0)
                    };
                }
            }
            fft.inverse(&mut band_data, &mut raw).ok()?;
            let (z, z3) = z_planes(&raw, h, w);
            bands.push(Band {
                periods: (lo, hi),
                z,
                z3,
            });
        }
        pool::give(band_data);
        pool::give(raw);
        let copy = |v: &[f32]| {
            let mut out: Vec<f32> = pool::take_any(v.len());
            out.copy_from_slice(v);
            out
        };
        Some(Acf {
            h,
            w,
            z: copy(&self.z),
            z3: copy(&self.z3),
            whitened: Vec::new(),
            bands,
        })
    }

    /// The planes `(z, z3)` to score a lattice with periods `a` and `b` on: the first band
    /// whose range holds both, or the whole autocorrelation.
    fn plane(&self, a: [f64; 2], b: [f64; 2]) -> (&[f32], &[f32]) {
        let (la, lb) = (a[0].hypot(a[1]), b[0].hypot(b[1]));
        let (short, long) = (la.min(lb), la.max(lb));
        self.bands
            .iter()
            .find(|band| band.periods.0 <= short && long <= band.periods.1)
            .map_or((&self.z, &self.z3), |band| (&band.z, &band.z3))
    }

    /// Sets the autocorrelation to 0 within two pixels of every point in view of `lattice`
    /// with its periods halved: a periodic host's finer lattice, whose points below the
    /// shortest period searched are not themselves candidates, would otherwise come back as
    /// its other coarse sublattices.
    fn mask(&mut self, lattice: &Lattice) {
        let Some(inv) = lattice.inverse() else {
            return;
        };
        let (a, b) = (
            [inv[0][0] / 2.0, inv[1][0] / 2.0],
            [inv[0][1] / 2.0, inv[1][1] / 2.0],
        );
        // The multiples in view: at the corners of the view, the lattice coordinates
        // (twice the tile cells over TILE, for the halved periods) are largest.
        let (hw, hh) = (self.w as f64 / 2.0, self.h as f64 / 2.0);
        let (mut r1, mut r2) = (0f64, 0f64);
        for (x, y) in [(hw, hh), (hw, -hh)] {
            let (u, v) = lattice.apply(x, y);
            r1 = r1.max(2.0 * u.abs() / TILE as f64);
            r2 = r2.max(2.0 * v.abs() / TILE as f64);
        }
        let (r1, r2) = (r1.ceil() as i32 + 1, r2.ceil() as i32 + 1);
        for n1 in -r1..=r1 {
            for n2 in -r2..=r2 {
                let (x, y) = (
                    n1 as f64 * a[0] + n2 as f64 * b[0],
                    n1 as f64 * a[1] + n2 as f64 * b[1],
                );
                if (n1, n2) == (0, 0) || !self.in_view(x, y) {
                    continue;
                }
                let (cx, cy) = (round_i64(x), round_i64(y));
                for dy in -2..=2 {
                    for dx in -2..=2 {
                        let i = self.index(cx + dx, cy + dy);
                        self.z[i] = 0.0;
                        self.z3[i] = 0.0;
                        for band in &mut self.bands {
                            band.z[i] = 0.0;
                            band.z3[i] = 0.0;
                        }
                    }
                }
            }
        }
    }

    fn index(&self, dx: i64, dy: i64) -> usize {
        wrap(dy, self.h) * self.w + wrap(dx, self.w)
    }

    /// Whether lag `(dx, dy)` is inside the unambiguous window.
    fn in_view(&self, dx: f64, dy: f64) -> bool {
        dx.abs() <= self.w as f64 / 2.0 && dy.abs() <= self.h as f64 / 2.0
    }

    /// The strongest local maxima in the upper half plane at plausible period lengths.
    fn peaks(&self) -> Vec<([f64; 2], f32)> {
        let (h, w) = (self.h as i64, self.w as i64);
        let mut found = Vec::new();
        for dy in 0..=h / 2 {
            for dx in -w / 2 + 1..=w / 2 {
                if dy == 0 && dx <= 0 {
                    continue;
                }
                let len2 = (dx * dx + dy * dy) as f64;
                let (lo, hi) = (MIN_PERIOD / MAX_RATIO, MAX_PERIOD);
                if !(lo * lo..=hi * hi).contains(&len2) {
                    continue;
                }
                let v = self.z[self.index(dx, dy)];
                if v < 2.0 {
                    continue;
                }
                let is_max = (-1..=1).all(|ey| {
                    (-1..=1)
                        .all(|ex| (ex == 0 && ey == 0) || self.z[self.index(dx + ex, dy + ey)] <= v)
                });
                if is_max {
                    found.push(([dx as f64, dy as f64], v));
                }
            }
        }
        found.sort_by(|a, b| b.1.total_cmp(&a.1));
        found.truncate(CANDIDATE_PEAKS);
        found
    }

    /// Score of the lattice with periods `a` and `b`: the summed tolerant z-score over its
    /// points in view, over the square root of their count (a z-score itself when the
    /// points are independent noise).
    fn score(&self, a: [f64; 2], b: [f64; 2]) -> f64 {
        self.score_within(a, b, 3)
    }

    /// [`Acf::score`] over the points `n1 a + n2 b` with `|n1|, |n2| <= reach`.
    fn score_within(&self, a: [f64; 2], b: [f64; 2], reach: i32) -> f64 {
        self.score_on(self.plane(a, b).1, a, b, reach)
    }

    /// [`Acf::score_within`] on the tolerant plane `z3`.
    fn score_on(&self, z3: &[f32], a: [f64; 2], b: [f64; 2], reach: i32) -> f64 {
        let (mut sum, mut n) = (0f64, 0usize);
        // The autocorrelation is symmetric: one of each pair of points +-p.
        for n1 in -reach..=reach {
            for n2 in 0..=reach {
                if n2 == 0 && n1 <= 0 {
                    continue;
                }
                let (x, y) = (
                    n1 as f64 * a[0] + n2 as f64 * b[0],
                    n1 as f64 * a[1] + n2 as f64 * b[1],
                );
                if self.in_view(x, y) {
                    sum += z3[self.index(round_i64(x), round_i64(y))] as f64;
                    n += 1;
                }
            }
        }
        if n < 4 {
            f64::NEG_INFINITY
        } else {
            sum / (n as f64).sqrt()
        }
    }

    /// [`Acf::score_within`] with `reach` 1, for the ~19,000 lattices of the coarse grid: the
    /// four points `b - a`, `b`, `a`, `a + b`, summed in that order, and no score unless all
    /// four are in view. The same value, without the general loop.
    fn coarse_score(&self, z3: &[f32], a: [f64; 2], b: [f64; 2]) -> f64 {
        let points = [[b[0] - a[0], b[1] - a[1]], b, a, [a[0] + b[0], a[1] + b[1]]];
        let (hw, hh) = (self.w as f64 / 2.0, self.h as f64 / 2.0);
        if points
            .iter()
            .any(|p| !(p[0].abs() <= hw && p[1].abs() <= hh))
        {
            return f64::NEG_INFINITY;
        }
        // In view, a rounded lag is within half the plane of zero: one conditional wrap.
        let (w, h) = (self.w as i64, self.h as i64);
        let sum: f64 = points
            .iter()
            .map(|p| {
                let (x, y) = (round_i64(p[0]), round_i64(p[1]));
                let (x, y) = (x + if x < 0 { w } else { 0 }, y + if y < 0 { h } else { 0 });
                z3[y as usize * self.w + x as usize] as f64
            })
            .sum();
        sum / 2.0
    }

    /// Least-squares periods fitted to the sub-pixel peaks found near every lattice point.
    fn refine(&self, mut a: [f64; 2], mut b: [f64; 2]) -> ([f64; 2], [f64; 2]) {
        let (z, _) = self.plane(a, b);
        for _ in 0..3 {
            // Normal equations for x and y separately: [n1 n2] . [a b] = q.
            let (mut s11, mut s12, mut s22) = (0f64, 0f64, 0f64);
            let (mut r1, mut r2) = ([0f64; 2], [0f64; 2]);
            let mut count = 0;
            for n1 in -3i32..=3 {
                for n2 in 0i32..=3 {
                    if n2 == 0 && n1 <= 0 {
                        continue;
                    }
                    let (n1f, n2f) = (n1 as f64, n2 as f64);
                    let p = [n1f * a[0] + n2f * b[0], n1f * a[1] + n2f * b[1]];
                    if !self.in_view(p[0], p[1]) {
                        continue;
                    }
                    let Some((q, weight)) = self.subpixel_peak(z, p) else {
                        continue;
                    };
                    s11 += weight * n1f * n1f;
                    s12 += weight * n1f * n2f;
                    s22 += weight * n2f * n2f;
                    for axis in 0..2 {
                        r1[axis] += weight * n1f * q[axis];
                        r2[axis] += weight * n2f * q[axis];
                    }
                    count += 1;
                }
            }
            let det = s11 * s22 - s12 * s12;
            if count < 3 || det.abs() < 1e-9 {
                break;
            }
            for axis in 0..2 {
                a[axis] = (s22 * r1[axis] - s12 * r2[axis]) / det;
                b[axis] = (s11 * r2[axis] - s12 * r1[axis]) / det;
            }
        }
        (a, b)
    }

    /// The strongest autocorrelation peak within two pixels of `p`, located to a fraction of
    /// a pixel by a parabola on each axis, and its weight; `None` if it is weak.
    fn subpixel_peak(&self, z: &[f32], p: [f64; 2]) -> Option<([f64; 2], f64)> {
        let (cx, cy) = (round_i64(p[0]), round_i64(p[1]));
        let (mut best, mut at) = (f32::NEG_INFINITY, (cx, cy));
        for dy in -2..=2 {
            for dx in -2..=2 {
                let v = z[self.index(cx + dx, cy + dy)];
                if v > best {
                    best = v;
                    at = (cx + dx, cy + dy);
                }
            }
        }
        if best < 2.5 {
            return None;
        }
        let v = |dx: i64, dy: i64| z[self.index(at.0 + dx, at.1 + dy)] as f64;
        let vertex = |m: f64, c: f64, p: f64| {
            let d = m - 2.0 * c + p;
            if d < 0.0 {
                (0.5 * (m - p) / d).clamp(-0.5, 0.5)
            } else {
                0.0
            }
        };
        let c = v(0, 0);
        let ox = vertex(v(-1, 0), c, v(1, 0));
        let oy = vertex(v(0, -1), c, v(0, 1));
        Some(([at.0 as f64 + ox, at.1 as f64 + oy], best as f64))
    }

    /// Square lattices (rotation and scale only, as cropping, rotating and resizing make)
    /// scored on a grid of angles and periods, the best few as period pairs. This finds the
    /// lattice even when few of its points stand out as peaks on their own. Coarse to fine:
    /// the nearest points on a grid that moves them by about a pixel, then a finer grid
    /// around the best, scored further out.
    fn square_lattices(&self, keep: usize) -> Vec<([f64; 2], [f64; 2])> {
        let mut coarse: Vec<(f64, f64, f64)> = Vec::new();
        let mut period = MIN_PERIOD;
        while period <= MAX_PERIOD {
            let (_, z3) = self.plane([period, 0.0], [0.0, period]);
            // Angle steps that move the farthest scored point (the diagonal) by a pixel.
            let step = (1.0 / (SQRT_2 * period)).to_degrees();
            // The angle's cosine and sine advance by rotation (no sin_cos per grid point; the
            // drift over a quarter turn is ~1e-13 px, far below the pixel the score rounds to).
            let (step_sin, step_cos) = step.to_radians().sin_cos();
            let (mut sin, mut cos) = (0f64, 1f64);
            let mut angle = 0.0;
            while angle < 90.0 {
                let (a, b) = ([period * cos, period * sin], [-period * sin, period * cos]);
                coarse.push((self.coarse_score(z3, a, b), period, angle));
                angle += step;
                (sin, cos) = (
                    sin * step_cos + cos * step_sin,
                    cos * step_cos - sin * step_sin,
                );
            }
            period += 1.0;
        }
        // The `keep` best, best first (a partial sort: there are ~19,000).
        if coarse.len() > keep {
            coarse.select_nth_unstable_by(keep - 1, |x, y| y.0.total_cmp(&x.0));
            coarse.truncate(keep);
        }
        coarse.sort_by(|x, y| y.0.total_cmp(&x.0));
        let mut fine: Vec<(f64, f64, f64)> = coarse
            .into_iter()
            .map(|(_, period, angle)| {
                let step = (1.0 / (SQRT_2 * period)).to_degrees();
                let (_, z3) = self.plane([period, 0.0], [0.0, period]);
                let mut best = (f64::NEG_INFINITY, period, angle);
                for i in -4..=4 {
                    for j in -4..=4 {
                        let (p, t) = (period + 0.25 * i as f64, angle + 0.25 * step * j as f64);
                        let (a, b) = square(p, t);
                        let score = self.score_on(z3, a, b, 2);
                        if score > best.0 {
                            best = (score, p, t);
                        }
                    }
                }
                best
            })
            .collect();
        fine.sort_by(|x, y| y.0.total_cmp(&x.0));
        fine.truncate(keep / 2);
        fine.into_iter().map(|(_, p, a)| square(p, a)).collect()
    }

    /// Lattices proposed by pairs of peaks, best first, refined.
    /// Up to `n` lattices; `keep` square lattices of the coarse grid are refined.
    fn estimates(&self, n: usize, keep: usize) -> Vec<Lattice> {
        let peaks = self.peaks();
        let min_cos = MIN_ANGLE_DEG.to_radians().cos();
        let mut scored: Vec<(f64, [f64; 2], [f64; 2])> = Vec::new();
        // Pairs of peaks, and each peak with its square partner (the tile is square, so the
        // second period of an unsqueezed lattice is the first turned by 90 degrees; it may be
        // too weak to be among the peaks itself).
        let mut pairs: Vec<([f64; 2], [f64; 2])> = Vec::new();
        for (i, (a, _)) in peaks.iter().enumerate() {
            pairs.push((*a, [-a[1], a[0]]));
            for (b, _) in &peaks[i + 1..] {
                // Only one of b and -b: the lattice is the same.
                let turned = if a[0] * b[1] - a[1] * b[0] >= 0.0 {
                    1.0
                } else {
                    -1.0
                };
                pairs.push((*a, [b[0] * turned, b[1] * turned]));
            }
        }
        pairs.extend(self.square_lattices(keep));
        for (a, b) in &pairs {
            {
                {
                    let (la, lb) = (a[0].hypot(a[1]), b[0].hypot(b[1]));
                    let (short, long) = (la.min(lb), la.max(lb));
                    if short < MIN_PERIOD || long > MAX_PERIOD || long > MAX_RATIO * short {
                        continue;
                    }
                    let cos = (a[0] * b[0] + a[1] * b[1]) / (la * lb);
                    if cos.abs() > min_cos {
                        continue;
                    }
                    scored.push((self.score(*a, *b), *a, *b));
                }
            }
        }
        scored.sort_by(|x, y| y.0.total_cmp(&x.0));
        let mut out: Vec<Lattice> = Vec::new();
        for (_, a, b) in scored.into_iter().take(4 * n) {
            let (a, b) = self.refine(a, b);
            if let Some(l) = Lattice::from_periods(a, b)
                && !out.iter().any(|o| o.same_points(&l, 0.01))
            {
                out.push(l);
            }
            if out.len() == n {
                break;
            }
        }
        out
    }
}

/// The periods of a square lattice of side `period` turned by `angle_deg`.
fn square(period: f64, angle_deg: f64) -> ([f64; 2], [f64; 2]) {
    let (s, c) = angle_deg.to_radians().sin_cos();
    ([period * c, period * s], [-period * s, period * c])
}

/// `(v - mean) / sd` over the values, away from the zero lag.
/// Bin `k` of an `n`-point spectrum as a frequency in cycles per pixel, in (-1/2, 1/2].
fn signed_frequency(k: usize, n: usize) -> f64 {
    if k > n / 2 {
        (k as f64 - n as f64) / n as f64
    } else {
        k as f64 / n as f64
    }
}

/// The standardised autocorrelation `raw` and its standardised 3x3 maximum.
fn z_planes(raw: &[f32], h: usize, w: usize) -> (Vec<f32>, Vec<f32>) {
    let z = standardise(raw, h, w);
    let max3 = wrapped_max3(&z, h, w);
    let z3 = standardise(&max3, h, w);
    pool::give(max3);
    (z, z3)
}

fn standardise(v: &[f32], h: usize, w: usize) -> Vec<f32> {
    // Lags within 6 of zero on both axes (wrapping) are left out and set to 0. Only rows near
    // the zero lag have any such values.
    let near = |i: usize, n: usize| i.min(n - i) < 6;
    let (mut s, mut s2, mut n) = (0f64, 0f64, 0f64);
    for (y, row) in v.chunks_exact(w).enumerate().take(h) {
        if near(y, h) {
            for (x, &value) in row.iter().enumerate() {
                if !near(x, w) {
                    s += value as f64;
                    s2 += (value as f64) * (value as f64);
                    n += 1.0;
                }
            }
        } else {
            let (a, b) = sums(row);
            s += a;
            s2 += b;
            n += w as f64;
        }
    }
    let mean = s / n.max(1.0);
    let sd = (s2 / n.max(1.0) - mean * mean).max(1e-20).sqrt();
    let (mean, inv_sd) = (mean as f32, (1.0 / sd) as f32);
    let mut out = pool::take_any(h * w);
    for (y, (src, dst)) in v.chunks_exact(w).zip(out.chunks_exact_mut(w)).enumerate() {
        for (d, &value) in dst.iter_mut().zip(src) {
            *d = (value - mean) * inv_sd;
        }
        if near(y, h) {
            for (x, d) in dst.iter_mut().enumerate() {
                if near(x, w) {
                    *d = 0.0;
                }
            }
        }
    }
    out
}

/// The sum and the sum of squares of `xs`: eight interleaved `f32` lanes (which vectorise),
/// added up in `f64`.
fn sums(xs: &[f32]) -> (f64, f64) {
    let (mut a, mut b) = ([0f32; 8], [0f32; 8]);
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            a[k] += c[k];
            b[k] += c[k] * c[k];
        }
    }
    let (mut s, mut s2) = (0f64, 0f64);
    for k in 0..8 {
        s += a[k] as f64;
        s2 += b[k] as f64;
    }
    for &x in tail {
        s += x as f64;
        s2 += (x as f64) * (x as f64);
    }
    (s, s2)
}

/// `i` wrapped into `0..n`, for `-n <= i < 2n` (and correct, if slower, beyond).
#[inline]
fn wrap(i: i64, n: usize) -> usize {
    let n = n as i64;
    if (0..n).contains(&i) {
        i as usize
    } else if (-n..0).contains(&i) {
        (i + n) as usize
    } else if (n..2 * n).contains(&i) {
        (i - n) as usize
    } else {
        i.rem_euclid(n) as usize
    }
}

/// The maximum over each 3x3 neighbourhood on a torus (separable: rows, then columns; the
/// interior of each row and every column pass a whole slice at a time, so they vectorise).
fn wrapped_max3(v: &[f32], h: usize, w: usize) -> Vec<f32> {
    let mut rows = pool::take_any(h * w);
    for (src, dst) in v.chunks_exact(w).zip(rows.chunks_exact_mut(w)) {
        if w < 3 {
            for x in 0..w {
                let (left, right) = (src[(x + w - 1) % w], src[(x + 1) % w]);
                dst[x] = src[x].max(left).max(right);
            }
            continue;
        }
        for (((d, &l), &c), &r) in dst[1..w - 1]
            .iter_mut()
            .zip(&src[..w - 2])
            .zip(&src[1..w - 1])
            .zip(&src[2..])
        {
            *d = c.max(l).max(r);
        }
        dst[0] = src[0].max(src[w - 1]).max(src[1]);
        dst[w - 1] = src[w - 1].max(src[w - 2]).max(src[0]);
    }
    let mut out = pool::take_any(h * w);
    for (y, dst) in out.chunks_exact_mut(w).enumerate() {
        let row = |y: usize| &rows[y * w..(y + 1) * w];
        let (up, down) = (row((y + h - 1) % h), row((y + 1) % h));
        for (((d, &c), &u), &n) in dst.iter_mut().zip(row(y)).zip(up).zip(down) {
            *d = c.max(u).max(n);
        }
    }
    pool::give(rows);
    out
}

/// Mean over a `(2r+1) x (2r+1)` window on the `h x w` torus of the power spectrum of a real
/// plane, given and computed on the half with non-negative horizontal frequency (`h x
/// (w / 2 + 1)`, with `r < w / 2`). Bins of the other half are the power at the opposite
/// frequency: `P(ky, kx) = P(-ky, -kx)`, wrapping.
fn half_box_mean(power: &[f32], h: usize, w: usize, r: usize) -> Vec<f32> {
    let hw = w / 2 + 1;
    debug_assert!(r < w / 2 && power.len() == h * hw);
    // Rows: each half row extended by r bins on both sides from the mirrored row, then a
    // running sum along it. Sums are kept in f64 so that the running updates do not drift
    // (the spectrum spans many orders of magnitude).
    let mut mid: Vec<f64> = pool::take_any(h * hw);
    let mut ext = vec![0f32; hw + 2 * r];
    for y in 0..h {
        let row = &power[y * hw..(y + 1) * hw];
        let mirror = &power[((h - y) % h) * hw..((h - y) % h + 1) * hw];
        ext[r..r + hw].copy_from_slice(row);
        for k in 1..=r {
            // kx = -k is the mirror row's bin k; kx = w/2 + k is its bin w/2 - k.
            ext[r - k] = mirror[k];
            ext[r + hw - 1 + k] = mirror[hw - 1 - k];
        }
        let mut acc: f64 = ext[..2 * r + 1].iter().map(|&v| v as f64).sum();
        let out = &mut mid[y * hw..(y + 1) * hw];
        for x in 0..hw {
            out[x] = acc;
            if x + 1 < hw {
                acc += ext[x + 2 * r + 1] as f64 - ext[x] as f64;
            }
        }
    }
    // Columns: one running sum per column, advanced a whole row at a time, wrapping.
    let inv_norm = 1.0 / ((2 * r + 1) * (2 * r + 1)) as f64;
    let mut acc = vec![0f64; hw];
    for k in 0..=2 * r {
        let y = (k + h - r) % h;
        for (a, &m) in acc.iter_mut().zip(&mid[y * hw..(y + 1) * hw]) {
            *a += m;
        }
    }
    let mut out = pool::take_any(h * hw);
    let (mut add, mut sub) = ((r + 1) % h, (h - r) % h);
    for y in 0..h {
        for (o, &a) in out[y * hw..(y + 1) * hw].iter_mut().zip(&acc) {
            *o = (a * inv_norm) as f32;
        }
        for x in 0..hw {
            acc[x] += mid[add * hw + x] - mid[sub * hw + x];
        }
        add = if add + 1 == h { 0 } else { add + 1 };
        sub = if sub + 1 == h { 0 } else { sub + 1 };
    }
    pool::give(mid);
    out
}

/// Fractional bits of the fixed-point tile coordinates that folding steps along a row.
pub(crate) const FIXED_BITS: u32 = 32;
/// One half in those units: `(t + FIXED_HALF) >> FIXED_BITS` is the nearest cell to `t`.
pub(crate) const FIXED_HALF: i64 = 1 << (FIXED_BITS - 1);

/// `x` in fixed point with [`FIXED_BITS`] fractional bits. Stepping a row in these units
/// replaces two float roundings per sample with a shift; the step's rounding moves a
/// coordinate by at most `2^-33` cells per sample, under 1e-5 of a cell along the longest
/// analysis row an allowed image can have. The
/// nearest cell is `floor(t + 0.5)`, which differs from rounding halves away from zero only
/// at exact negative halves.
pub(crate) fn to_fixed(x: f64) -> i64 {
    round_i64(x * (1u64 << FIXED_BITS) as f64)
}

/// A reusable folder: sums the image into one tile along a lattice and returns the tile's
/// `TILE x TILE` spectrum.
#[derive(Clone, Debug)]
pub(crate) struct Folder {
    fft: Fft2,
    grid: Vec<Complex32>,
}

impl Folder {
    pub(crate) fn new() -> Folder {
        let g = TILE * FOLD_OVERSAMPLE;
        Folder {
            fft: Fft2::new(g),
            grid: vec![Complex32::new(0.0, 0.0); g * g],
        }
    }

    /// Folds `r` along `lattice` onto an oversampled grid (nearest cell) and returns the
    /// spectrum of the tile, `X[k] = sum_x r(x) e^{-2 pi i k.t(x) / TILE}`, on a
    /// `TILE x TILE` grid of frequencies.
    pub(crate) fn fold(&mut self, r: ArrayView2<'_, f32>, lattice: &Lattice) -> Vec<Complex32> {
        let g = TILE * FOLD_OVERSAMPLE;
        // A power of two, so wrapping onto the grid is a mask (the same as `rem_euclid`).
        const { assert!((TILE * FOLD_OVERSAMPLE).is_power_of_two()) };
        let mask = g as i64 - 1;
        let gi = g as i64;
        let o = FOLD_OVERSAMPLE as f64;
        self.grid.fill(Complex32::new(0.0, 0.0));
        let m = lattice.m;
        let (du, dv) = (to_fixed(m[0][0] * o), to_fixed(m[1][0] * o));
        for (y, row) in r.rows().into_iter().enumerate() {
            let (u, v) = lattice.apply(0.0, y as f64);
            let (mut u, mut v) = (to_fixed(u * o) + FIXED_HALF, to_fixed(v * o) + FIXED_HALF);
            for &value in row.iter() {
                let cu = ((u >> FIXED_BITS) & mask) as usize;
                let cv = ((v >> FIXED_BITS) & mask) as usize;
                self.grid[cv * g + cu].re += value;
                u += du;
                v += dv;
            }
        }
        self.fft.forward(&mut self.grid);
        let mut out = vec![Complex32::new(0.0, 0.0); TILE * TILE];
        let half = (TILE / 2) as i64;
        for fy in -half + 1..half {
            for fx in -half + 1..half {
                let src = fy.rem_euclid(gi) as usize * g + fx.rem_euclid(gi) as usize;
                let dst = fy.rem_euclid(TILE as i64) as usize * TILE
                    + fx.rem_euclid(TILE as i64) as usize;
                out[dst] = self.grid[src];
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_and_map_are_inverse() {
        let (a, b) = ([70.0, 5.0], [-4.0, 60.0]);
        let l = Lattice::from_periods(a, b).unwrap_or(Lattice::IDENTITY);
        let (u, v) = l.apply(a[0], a[1]);
        assert!((u - 64.0).abs() < 1e-9 && v.abs() < 1e-9);
        let (u, v) = l.apply(b[0], b[1]);
        assert!(u.abs() < 1e-9 && (v - 64.0).abs() < 1e-9);
        // Another basis of the same lattice is the same point set; a scaled one is not.
        let c = Lattice::from_periods([a[0] + b[0], a[1] + b[1]], [-b[0], -b[1]]);
        assert!(c.is_some_and(|c| c.same_points(&l, 1e-6)));
        let d = Lattice::from_periods([a[0] * 1.01, a[1] * 1.01], b);
        assert!(d.is_some_and(|d| !d.same_points(&l, 0.002)));
    }

    #[test]
    fn half_box_mean_matches_the_direct_mean_on_the_whole_torus() {
        // A power spectrum of a real plane (symmetric through the origin), given as its half.
        for (h, w, r) in [(7usize, 10usize, 2usize), (16, 48, 12), (32, 26, 12)] {
            let full = |ky: usize, kx: usize| -> f32 {
                // Symmetric: the same value at (ky, kx) and (-ky, -kx).
                let (a, b) = ((h - ky) % h, (w - kx) % w);
                let key = if (ky, kx) <= (a, b) { (ky, kx) } else { (a, b) };
                ((key.0 * 31 + key.1 * 17) % 23) as f32 * 10f32.powi((key.1 % 5) as i32)
            };
            let hw = w / 2 + 1;
            let half: Vec<f32> = (0..h * hw).map(|i| full(i / hw, i % hw)).collect();
            let fast = half_box_mean(&half, h, w, r);
            for y in 0..h {
                for x in 0..hw {
                    let mut s = 0f64;
                    for dy in 0..=2 * r {
                        for dx in 0..=2 * r {
                            s += full((y + h * 2 + dy - r) % h, (x + w * 2 + dx - r) % w) as f64;
                        }
                    }
                    let direct = s / ((2 * r + 1) * (2 * r + 1)) as f64;
                    let got = fast[y * hw + x] as f64;
                    assert!(
                        (got - direct).abs() <= 1e-5 * direct.abs().max(1.0),
                        "{h}x{w} r{r} ({y},{x}) {got} vs {direct}"
                    );
                }
            }
        }
    }

    #[test]
    fn coarse_scores_equal_the_general_scorer_with_reach_one() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let r = Array2::from_shape_fn((256, 384), |_| rng.random::<f32>() - 0.5);
        let Some(acf) = Acf::new(r.view(), false) else {
            unreachable!("a 256x384 plane has an autocorrelation")
        };
        // Periods and angles across the grid, including lattices partly out of view.
        let mut compared = (0, 0);
        for period in [36.0, 47.3, 64.0, 90.5, 120.0, 136.0, 180.0] {
            for angle in [0.0, 3.7, 22.5, 45.0, 61.2, 89.9] {
                let (a, b) = square(period, angle);
                let z3 = acf.plane(a, b).1;
                let (fast, general) = (acf.coarse_score(z3, a, b), acf.score_within(a, b, 1));
                assert_eq!(fast, general, "period {period} angle {angle}");
                if general.is_finite() {
                    compared.0 += 1;
                } else {
                    compared.1 += 1;
                }
            }
        }
        assert!(compared.0 > 10 && compared.1 > 0, "{compared:?}");
    }

    #[test]
    fn standardise_matches_a_direct_computation_away_from_the_zero_lag() {
        for (h, w) in [(16usize, 24usize), (13, 37), (40, 20)] {
            let v: Vec<f32> = (0..h * w)
                .map(|i| ((i * 7919) % 101) as f32 * 0.37 - 9.0 + (i % w) as f32)
                .collect();
            let near = |i: usize, n: usize| i.min(n - i) < 6;
            let kept: Vec<f64> = (0..h * w)
                .filter(|&i| !(near(i / w, h) && near(i % w, w)))
                .map(|i| v[i] as f64)
                .collect();
            let mean = kept.iter().sum::<f64>() / kept.len() as f64;
            let sd =
                (kept.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / kept.len() as f64).sqrt();
            let z = standardise(&v, h, w);
            for i in 0..h * w {
                let want = if near(i / w, h) && near(i % w, w) {
                    0.0
                } else {
                    (v[i] as f64 - mean) / sd
                };
                assert!(
                    (z[i] as f64 - want).abs() < 1e-4,
                    "{h}x{w} at {i}: {} vs {want}",
                    z[i]
                );
            }
        }
    }

    #[test]
    fn wrapped_max3_and_wrap_match_direct() {
        for (h, w) in [(6usize, 8usize), (5, 3), (4, 2), (3, 1), (1, 5)] {
            let v: Vec<f32> = (0..h * w).map(|i| ((i * 37) % 23) as f32).collect();
            let fast = wrapped_max3(&v, h, w);
            for y in 0..h {
                for x in 0..w {
                    let mut m = f32::NEG_INFINITY;
                    for dy in [h - 1, 0, 1] {
                        for dx in [w - 1, 0, 1] {
                            m = m.max(v[((y + dy) % h) * w + (x + dx) % w]);
                        }
                    }
                    assert_eq!(fast[y * w + x], m, "{h}x{w} at ({y},{x})");
                }
            }
        }
        for i in -40i64..40 {
            assert_eq!(wrap(i, 7), i.rem_euclid(7) as usize, "{i}");
        }
    }

    /// A synthetic periodic pattern under a known affine map: the estimate recovers the
    /// periods to a small fraction of a pixel.
    #[test]
    fn estimates_the_lattice_of_a_rotated_squeezed_periodic_pattern() {
        // 20 degrees of rotation, 1.2 x 0.9 scale.
        estimates_squeezed(20.0, 1.2, 0.9);
    }

    #[test]
    fn estimates_the_lattice_of_a_work_squashed_to_a_square() {
        // A 16:9 work resized to a square: 0.56 x 1.0 (period ratio 1.78).
        estimates_squeezed(0.0, 0.5625, 1.0);
    }

    fn estimates_squeezed(degrees: f64, sx: f64, sy: f64) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let tile: Vec<f32> = (0..TILE * TILE)
            .map(|_| rng.random::<f32>() - 0.5)
            .collect();
        let (c, s) = (degrees.to_radians().cos(), degrees.to_radians().sin());
        let a = [64.0 * sx * c, 64.0 * sx * s];
        let b = [-64.0 * sy * s, 64.0 * sy * c];
        let truth = Lattice::from_periods(a, b).unwrap_or(Lattice::IDENTITY);
        let (h, w) = (256, 384);
        let r = Array2::from_shape_fn((h, w), |(y, x)| {
            let (u, v) = truth.apply(x as f64, y as f64);
            let cell = |t: f64| (t.floor() as i64).rem_euclid(TILE as i64) as usize;
            // Mark plus host-like noise four times stronger.
            tile[cell(v) * TILE + cell(u)] + 2.0 * (rng.random::<f32>() - 0.5)
        });
        let found = hypotheses(r.view());
        assert!(found.len() >= 2);
        assert!(
            found[1..].iter().any(|l| l.same_points(&truth, 0.002)),
            "{found:?}"
        );
    }

    #[test]
    fn the_deeper_search_finds_a_mark_behind_a_periodic_host() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let random_tile = |rng: &mut rand_chacha::ChaCha8Rng, n: usize| -> Vec<f32> {
            (0..n * n).map(|_| rng.random::<f32>() - 0.5).collect()
        };
        let (mark, host) = (random_tile(&mut rng, TILE), random_tile(&mut rng, 12));
        // The mark at period 70 turned 8 degrees; the host a 12-pixel tiling, as a pattern
        // illustration is, whose coarse sublattices make the autocorrelation's strongest.
        let (a, b) = square(70.0, 8.0);
        let truth = Lattice::from_periods(a, b).unwrap_or(Lattice::IDENTITY);
        let r = Array2::from_shape_fn((256, 256), |(y, x)| {
            let (u, v) = truth.apply(x as f64, y as f64);
            let cell = |t: f64| (t.floor() as i64).rem_euclid(TILE as i64) as usize;
            0.7 * mark[cell(v) * TILE + cell(u)]
                + 2.0 * host[(y % 12) * 12 + x % 12]
                + 2.0 * (rng.random::<f32>() - 0.5)
        });
        let (base, acf) = hypotheses_and_acf(r.view());
        assert!(
            !base.iter().any(|l| l.same_points(&truth, 0.002)),
            "{base:?}"
        );
        let Some(acf) = acf else {
            unreachable!("a 256x256 plane has an autocorrelation")
        };
        let deep = deep_hypotheses(&acf, &base);
        assert!(
            deep.iter().any(|l| l.same_points(&truth, 0.002)),
            "{deep:?}"
        );
    }
}
