//! Marks that cover only part of an image: a work shown inside a web page, one cell of a
//! collage, a picture pasted into a poster.
//!
//! The base analysis brings the whole image to [`ANALYSIS_SHORT_SIDE`] pixels on its short
//! side, where a whole work's tile period is about [`TILE`]. A work shown at a third of a
//! page's width has a period of ~20 pixels there, under the search floor and above Nyquist
//! for most of the carrier band, and the fold averages the unmarked rest of the page in.
//! So when the base analysis finds nothing, the image is analysed again at twice and four
//! times that resolution (never above its own), and searched in windows of
//! [`WINDOW`] analysis pixels, overlapping by half: a window on the work sees its mark as a
//! whole work is seen at the base scale. Each window is analysed as a whole image is: its own
//! autocorrelation proposes its lattices (the whole plane's autocorrelation finds a marked
//! quarter of a page but not a tenth, where the work's mark is diluted by the rest), it is
//! folded along each, and searched; the p-value counts every window of every scale.
//!
//! Images of at most [`MIN_SHORT_SIDE`] pixels on their short side get no finer scale: a work
//! shown in less than half of such an image is under 256 pixels on its short side, where the
//! upper half of the mark's band is above Nyquist, and one shown larger is seen at the base
//! scale. That keeps scans of 512-pixel shards at the base scale's speed; searching them in
//! windows as well would make every unmarked 512-pixel image about five times as slow to
//! search.

use ndarray::{Array2, ArrayView2, Slice};
use rustfft::num_complex::Complex32;

use crate::sync::{self, Folder, Lattice};
use crate::tile::{ANALYSIS_SHORT_SIDE, TILE};

/// Side of a window, in analysis pixels of its scale: four nominal tile periods, as a whole
/// work has across its short side at the base scale.
pub(crate) const WINDOW: usize = 4 * TILE;
/// Step between windows: they overlap by half, so a marked area of 1.5 windows always
/// holds one whole window.
const STRIDE: usize = WINDOW / 2;
/// Images whose short side is at most this get no finer scale (see the module's notes).
const MIN_SHORT_SIDE: u32 = 2 * ANALYSIS_SHORT_SIDE as u32;
/// Extra scales: 2x and 4x the base scale's resolution.
const LEVELS: u32 = 2;
/// A scale is searched only when it resolves at least this many times as finely as the
/// previous one (an image of 300 pixels gains nothing from a scale of 300 after 256).
const MIN_STEP: f64 = 1.5;
/// Most analysis pixels of one extra scale (16 MiB of residual), whatever the image's
/// aspect: a very long image is analysed more coarsely rather than allocating without bound.
const MAX_SCALE_PIXELS: f64 = (1 << 22) as f64;

/// The extra analysis scales of a `w x h` image, in analysis pixels per image pixel, finest
/// last; empty for images too small to gain from them.
pub(crate) fn extra_scales(w: u32, h: u32) -> Vec<f64> {
    if w.min(h) <= MIN_SHORT_SIDE {
        return Vec::new();
    }
    let (wf, hf) = (w as f64, h as f64);
    let base = ANALYSIS_SHORT_SIDE as f64 / wf.min(hf);
    let cap = (MAX_SCALE_PIXELS / (wf * hf)).sqrt();
    let mut out = Vec::new();
    let mut previous = base;
    for k in 1..=LEVELS {
        let s = (base * f64::from(1u32 << k)).min(1.0).min(cap);
        if s >= previous * MIN_STEP {
            out.push(s);
            previous = s;
        }
    }
    out
}

/// Size `(width, height)` of the analysis plane of a `w x h` image at scale `s`.
pub(crate) fn plane_size(w: u32, h: u32, s: f64) -> (usize, usize) {
    (
        ((w as f64 * s).round() as usize).max(1),
        ((h as f64 * s).round() as usize).max(1),
    )
}

/// Where windows start along a side of `n` analysis pixels: every [`STRIDE`], and one flush
/// with the far end.
fn starts(n: usize) -> Vec<usize> {
    if n <= WINDOW {
        return vec![0];
    }
    let mut v: Vec<usize> = (0..=n - WINDOW).step_by(STRIDE).collect();
    if v.last() != Some(&(n - WINDOW)) {
        v.push(n - WINDOW);
    }
    v
}

/// Windows searched in a `w x h` image over every extra scale (each window's own p-value
/// counts its lattices): known from the size alone, so the p-value can count them before any
/// is searched.
pub(crate) fn window_count(w: u32, h: u32) -> usize {
    extra_scales(w, h)
        .into_iter()
        .map(|s| {
            let (aw, ah) = plane_size(w, h, s);
            starts(aw).len() * starts(ah).len()
        })
        .sum()
}

/// One window of one scale, folded along each of its lattice hypotheses.
#[derive(Clone, Debug)]
pub(crate) struct Window {
    /// Top-left corner in the scale's analysis pixels.
    pub(crate) x0: usize,
    pub(crate) y0: usize,
    /// The window's lattice hypotheses ([`sync::hypotheses`]) and its folds along each.
    pub(crate) lattices: Vec<Lattice>,
    pub(crate) spectra: Vec<Vec<Complex32>>,
}

/// One extra scale: its whitened plane and its windows.
#[derive(Clone, Debug)]
pub(crate) struct Scale {
    /// Analysis pixels per image pixel.
    pub(crate) s: f64,
    pub(crate) residual: Array2<f32>,
    pub(crate) windows: Vec<Window>,
}

impl Scale {
    /// Cuts the whitened plane `residual` (at `s` analysis pixels per image pixel) into
    /// windows, estimates each one's lattices and folds it along each.
    pub(crate) fn new(s: f64, residual: Array2<f32>) -> Scale {
        let (h, w) = residual.dim();
        let mut folder = Folder::new();
        let mut windows = Vec::new();
        for &y0 in &starts(h) {
            for &x0 in &starts(w) {
                let view = window_view(&residual, x0, y0);
                let lattices = sync::hypotheses(view);
                let spectra = lattices.iter().map(|l| folder.fold(view, l)).collect();
                windows.push(Window {
                    x0,
                    y0,
                    lattices,
                    spectra,
                });
            }
        }
        Scale {
            s,
            residual,
            windows,
        }
    }
}

/// The window at `(x0, y0)` of `residual`, clipped to it.
fn window_view(residual: &Array2<f32>, x0: usize, y0: usize) -> ArrayView2<'_, f32> {
    let (h, w) = residual.dim();
    residual.slice_each_axis(|ax| {
        let (o, n) = if ax.axis.index() == 0 {
            (y0, h)
        } else {
            (x0, w)
        };
        Slice::from(o..(o + WINDOW).min(n))
    })
}

/// A rectangle of the image, in image pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Region {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Region {
    /// The whole of a `w x h` image.
    pub(crate) fn whole(w: u32, h: u32) -> Region {
        Region {
            x: 0,
            y: 0,
            width: w,
            height: h,
        }
    }

    /// Cells `[c0, c1) x [r0, r1)` of `cell_px`-pixel cells, clipped to a `w x h` image.
    pub(crate) fn of_cells(
        (c0, c1): (usize, usize),
        (r0, r1): (usize, usize),
        cell_px: f64,
        (w, h): (u32, u32),
    ) -> Region {
        let px = |c: usize, limit: u32| ((c as f64 * cell_px).round() as u32).min(limit);
        let (x, y) = (px(c0, w), px(r0, h));
        Region {
            x,
            y,
            width: px(c1, w).saturating_sub(x).max(1),
            height: px(r1, h).saturating_sub(y).max(1),
        }
    }
}

/// The marked area of a tile map of `rows x cols` z-scores: the cells connected (8-way) to
/// the strongest one through cells at `weak` or above, when the strongest reaches `strong`;
/// as `((c0, c1), (r0, r1))`, the half-open ranges of columns and rows it spans.
pub(crate) fn marked_cells(
    z: &[f32],
    rows: usize,
    cols: usize,
    strong: f32,
    weak: f32,
) -> Option<((usize, usize), (usize, usize))> {
    let (top, &zmax) = z.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    if zmax < strong {
        return None;
    }
    let mut seen = vec![false; z.len()];
    let mut stack = vec![top];
    seen[top] = true;
    let (mut c0, mut c1, mut r0, mut r1) = (cols, 0, rows, 0);
    while let Some(i) = stack.pop() {
        let (r, c) = (i / cols, i % cols);
        (c0, c1, r0, r1) = (c0.min(c), c1.max(c + 1), r0.min(r), r1.max(r + 1));
        for dr in -1i64..=1 {
            for dc in -1i64..=1 {
                let (nr, nc) = (r as i64 + dr, c as i64 + dc);
                if nr < 0 || nc < 0 || nr >= rows as i64 || nc >= cols as i64 {
                    continue;
                }
                let j = nr as usize * cols + nc as usize;
                if !seen[j] && z[j] >= weak {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
    }
    Some(((c0, c1), (r0, r1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_double_up_to_the_image_own_resolution() {
        // A 1280x900 page: 2x (512 on the short side) and 4x (its own 900).
        let s = extra_scales(1280, 900);
        assert_eq!(s.len(), 2);
        assert!((s[0] * 900.0 - 512.0).abs() < 1e-9);
        assert!((s[1] - 1.0).abs() < 1e-12);
        // 512 px or less: none.
        assert!(extra_scales(512, 512).is_empty());
        assert!(extra_scales(600, 400).is_empty());
        assert_eq!(window_count(512, 700), 0);
        // 600 and 700 px: 512 on the short side only; their own resolution is under 1.5
        // times that.
        for side in [600, 700] {
            let s = extra_scales(side, side);
            assert_eq!(s.len(), 1);
            assert!((s[0] * side as f64 - 512.0).abs() < 1e-9);
        }
        // 4096x4096: 512 and 1024 on the short side.
        let s = extra_scales(4096, 4096);
        assert!((s[0] * 4096.0 - 512.0).abs() < 1e-9 && (s[1] * 4096.0 - 1024.0).abs() < 1e-9);
        // 512 at 2x: 3 x 3 windows of 256 every 128; 1024 at 4x: 7 x 7.
        assert_eq!(window_count(4096, 4096), 9 + 49);
    }

    #[test]
    fn a_very_long_image_is_analysed_within_the_pixel_cap() {
        // 2000 x 40000 (80 MP): the 2x scale would hold 10.5 M analysis pixels.
        let (w, h) = (2000, 40_000);
        let scales = extra_scales(w, h);
        assert_eq!(scales.len(), 1);
        for s in scales {
            let (aw, ah) = plane_size(w, h, s);
            assert!((aw * ah) as f64 <= MAX_SCALE_PIXELS * 1.01, "{aw}x{ah}");
        }
    }

    #[test]
    fn windows_cover_every_pixel_and_end_flush() {
        for n in [256, 300, 384, 511, 512, 900, 1456] {
            let v = starts(n);
            assert_eq!(v[0], 0);
            assert_eq!(*v.last().unwrap_or(&0) + WINDOW.min(n), n);
            assert!(v.windows(2).all(|p| p[1] > p[0] && p[1] - p[0] <= STRIDE));
        }
    }

    #[test]
    fn the_marked_area_is_the_strong_cell_and_its_weak_neighbours() {
        // 5 x 6 map: a strong cell at (2, 3), weak cells touching it, one weak cell apart.
        #[rustfmt::skip]
        let z = [
            0.0, 0.0, 0.0, 0.0, 0.0, 2.5,
            0.0, 0.0, 2.1, 0.0, 0.0, 0.0,
            0.0, 0.0, 0.0, 5.0, 3.0, 0.0,
            0.0, 0.0, 0.0, 2.2, 0.0, 0.0,
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        ];
        assert_eq!(
            marked_cells(&z, 5, 6, 4.0, 2.0),
            Some(((2, 5), (1, 4))),
            "columns 2-4, rows 1-3; the cell at (0, 5) is not connected"
        );
        assert_eq!(marked_cells(&z, 5, 6, 6.0, 2.0), None);
        let r = Region::of_cells((2, 5), (1, 4), 10.0, (45, 35));
        assert_eq!((r.x, r.y, r.width, r.height), (20, 10, 25, 25));
    }
}
