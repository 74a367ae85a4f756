//! Two-dimensional FFTs (square or rectangular) with plans made once.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

/// Columns transformed together.
const COLUMNS: usize = 8;

thread_local! {
    static PLANNER: RefCell<FftPlanner<f32>> = RefCell::new(FftPlanner::new());
    static REAL_PLANNER: RefCell<RealFftPlanner<f32>> = RefCell::new(RealFftPlanner::new());
}

/// An `h x w` complex FFT, forward and inverse (unnormalised), row-major data.
#[derive(Clone)]
pub(crate) struct Fft2 {
    h: usize,
    w: usize,
    row_fwd: Arc<dyn Fft<f32>>,
    row_inv: Arc<dyn Fft<f32>>,
    columns: Columns,
    scratch: Vec<Complex32>,
}

impl fmt::Debug for Fft2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fft2({}x{})", self.h, self.w)
    }
}

impl Fft2 {
    /// An `n x n` transform.
    pub(crate) fn new(n: usize) -> Fft2 {
        Fft2::rect(n, n)
    }

    /// An `h x w` transform (`h` rows of `w` samples).
    pub(crate) fn rect(h: usize, w: usize) -> Fft2 {
        // One planner per thread: it keeps the plans (and their twiddle tables) it has made,
        // so images of the same analysis size do not plan again.
        let (row_fwd, row_inv) = PLANNER
            .with_borrow_mut(|planner| (planner.plan_fft_forward(w), planner.plan_fft_inverse(w)));
        let columns = Columns::new(h);
        let scratch_len = [&row_fwd, &row_inv]
            .iter()
            .map(|p| p.get_inplace_scratch_len())
            .chain([columns.scratch_len()])
            .max()
            .unwrap_or(0);
        Fft2 {
            h,
            w,
            row_fwd,
            row_inv,
            columns,
            scratch: vec![Complex32::new(0.0, 0.0); scratch_len],
        }
    }

    /// Side of a square transform (its width).
    pub(crate) fn n(&self) -> usize {
        self.w
    }

    /// Forward transform in place: `X[k] = sum_x x[x] e^{-2 pi i k.x / n}`.
    pub(crate) fn forward(&mut self, data: &mut [Complex32]) {
        debug_assert_eq!(data.len(), self.h * self.w);
        // Rows: rustfft transforms every consecutive chunk of length w.
        self.row_fwd.process_with_scratch(data, &mut self.scratch);
        self.columns.forward(data, self.w, &mut self.scratch);
    }

    /// Inverse transform in place, without the `1/(h w)` factor.
    pub(crate) fn inverse(&mut self, data: &mut [Complex32]) {
        debug_assert_eq!(data.len(), self.h * self.w);
        self.row_inv.process_with_scratch(data, &mut self.scratch);
        self.columns.inverse(data, self.w, &mut self.scratch);
    }
}

/// The column half of a 2-D transform: the forward and inverse plans for columns of `h`
/// values and the buffer that gathers them.
#[derive(Clone)]
struct Columns {
    h: usize,
    fwd: Arc<dyn Fft<f32>>,
    inv: Arc<dyn Fft<f32>>,
    lines: Vec<Complex32>,
}

impl Columns {
    fn new(h: usize) -> Columns {
        let (fwd, inv) = PLANNER
            .with_borrow_mut(|planner| (planner.plan_fft_forward(h), planner.plan_fft_inverse(h)));
        Columns {
            h,
            fwd,
            inv,
            lines: vec![Complex32::new(0.0, 0.0); h * COLUMNS],
        }
    }

    /// Scratch the column plans need.
    fn scratch_len(&self) -> usize {
        self.fwd
            .get_inplace_scratch_len()
            .max(self.inv.get_inplace_scratch_len())
    }

    /// Forward transform of every column of the `h x w` row-major `data`.
    fn forward(&mut self, data: &mut [Complex32], w: usize, scratch: &mut [Complex32]) {
        columns(self.fwd.as_ref(), data, self.h, w, &mut self.lines, scratch);
    }

    /// Inverse transform (unnormalised) of every column of the `h x w` row-major `data`.
    fn inverse(&mut self, data: &mut [Complex32], w: usize, scratch: &mut [Complex32]) {
        columns(self.inv.as_ref(), data, self.h, w, &mut self.lines, scratch);
    }
}

/// Transforms every column of the `h x w` row-major `data` with `col`, [`COLUMNS`] at a time:
/// gathered side by side (whole cache lines of each row), transformed as consecutive lines,
/// scattered back. `lines` holds at least `h * COLUMNS` values.
fn columns(
    col: &dyn Fft<f32>,
    data: &mut [Complex32],
    h: usize,
    w: usize,
    lines: &mut [Complex32],
    scratch: &mut [Complex32],
) {
    for c0 in (0..w).step_by(COLUMNS) {
        let n = COLUMNS.min(w - c0);
        let lines = &mut lines[..n * h];
        for r in 0..h {
            for (k, v) in data[r * w + c0..r * w + c0 + n].iter().enumerate() {
                lines[k * h + r] = *v;
            }
        }
        col.process_with_scratch(lines, scratch);
        for r in 0..h {
            for (k, v) in data[r * w + c0..r * w + c0 + n].iter_mut().enumerate() {
                *v = lines[k * h + r];
            }
        }
    }
}

/// An `h x w` FFT of real data (`w` even), which keeps only the `w / 2 + 1` columns of
/// non-negative horizontal frequency: the others are the complex conjugates of these at the
/// opposite frequency. About half the work of the complex transform.
#[derive(Clone)]
pub(crate) struct RealFft2 {
    h: usize,
    w: usize,
    r2c: Arc<dyn RealToComplex<f32>>,
    c2r: Arc<dyn ComplexToReal<f32>>,
    columns: Columns,
    scratch: Vec<Complex32>,
}

impl fmt::Debug for RealFft2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RealFft2({}x{})", self.h, self.w)
    }
}

impl RealFft2 {
    /// An `h x w` transform; `None` when `w` is odd or either side is 0.
    pub(crate) fn new(h: usize, w: usize) -> Option<RealFft2> {
        if !w.is_multiple_of(2) || h == 0 || w == 0 {
            return None;
        }
        let (r2c, c2r) = REAL_PLANNER
            .with_borrow_mut(|planner| (planner.plan_fft_forward(w), planner.plan_fft_inverse(w)));
        let columns = Columns::new(h);
        let scratch_len = r2c
            .get_scratch_len()
            .max(c2r.get_scratch_len())
            .max(columns.scratch_len());
        Some(RealFft2 {
            h,
            w,
            r2c,
            c2r,
            columns,
            scratch: vec![Complex32::new(0.0, 0.0); scratch_len],
        })
    }

    /// Columns of the half spectrum: `w / 2 + 1`.
    pub(crate) fn half_width(&self) -> usize {
        self.w / 2 + 1
    }

    /// Forward transform of the `h x w` real `input` (left as garbage) into the `h x
    /// (w / 2 + 1)` half spectrum `out`: `out[ky][kx] = X[ky][kx]` of the complex transform.
    pub(crate) fn forward(
        &mut self,
        input: &mut [f32],
        out: &mut [Complex32],
    ) -> Result<(), realfft::FftError> {
        let (h, w, hw) = (self.h, self.w, self.half_width());
        for (src, dst) in input
            .chunks_exact_mut(w)
            .zip(out.chunks_exact_mut(hw))
            .take(h)
        {
            self.r2c.process_with_scratch(src, dst, &mut self.scratch)?;
        }
        self.columns.forward(out, hw, &mut self.scratch);
        Ok(())
    }

    /// Inverse transform, without the `1/(h w)` factor, of the half spectrum `input` (left
    /// as garbage) of a real `h x w` plane, into `out`. Where `input` is not exactly the half
    /// of a conjugate-symmetric spectrum, `out` is the real part of the complex inverse of
    /// its symmetric part.
    pub(crate) fn inverse(
        &mut self,
        input: &mut [Complex32],
        out: &mut [f32],
    ) -> Result<(), realfft::FftError> {
        let (h, w, hw) = (self.h, self.w, self.half_width());
        self.columns.inverse(input, hw, &mut self.scratch);
        for (src, dst) in input
            .chunks_exact_mut(hw)
            .zip(out.chunks_exact_mut(w))
            .take(h)
        {
            // The zero and Nyquist frequencies of a real row are real; rounding in the
            // column transform leaves a trace of an imaginary part there, which the real
            // output cannot hold.
            src[0].im = 0.0;
            src[hw - 1].im = 0.0;
            self.c2r.process_with_scratch(src, dst, &mut self.scratch)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_matches_direct_dft_and_inverse_undoes_it() {
        let n = 8;
        let x: Vec<Complex32> = (0..n * n)
            .map(|i| Complex32::new(((i * 37) % 11) as f32 - 5.0, ((i * 13) % 7) as f32))
            .collect();
        let mut f = Fft2::new(n);
        let mut y = x.clone();
        f.forward(&mut y);
        for (ky, kx) in [(0, 0), (1, 3), (5, 2), (7, 7)] {
            let mut acc = Complex32::new(0.0, 0.0);
            for r in 0..n {
                for c in 0..n {
                    let ang = -2.0 * std::f32::consts::PI * ((ky * r + kx * c) as f32) / n as f32;
                    acc += x[r * n + c] * Complex32::from_polar(1.0, ang);
                }
            }
            assert!((acc - y[ky * n + kx]).norm() < 1e-3, "bin ({ky},{kx})");
        }
        f.inverse(&mut y);
        for (a, b) in x.iter().zip(&y) {
            assert!((*a - *b / (n * n) as f32).norm() < 1e-4);
        }
    }

    #[test]
    fn real_transform_is_the_half_of_the_complex_one_and_inverts() {
        for (h, w) in [(6usize, 10usize), (16, 32), (5, 4)] {
            let x: Vec<f32> = (0..h * w).map(|i| ((i * 29) % 13) as f32 - 6.0).collect();
            let mut full: Vec<Complex32> = x.iter().map(|&v| Complex32::new(v, 0.0)).collect();
            Fft2::rect(h, w).forward(&mut full);
            let Some(mut real) = RealFft2::new(h, w) else {
                unreachable!("{h}x{w} is a valid size")
            };
            let hw = real.half_width();
            assert_eq!(hw, w / 2 + 1);
            let mut half = vec![Complex32::new(0.0, 0.0); h * hw];
            let mut input = x.clone();
            assert!(real.forward(&mut input, &mut half).is_ok());
            for ky in 0..h {
                for kx in 0..hw {
                    let d = (half[ky * hw + kx] - full[ky * w + kx]).norm();
                    assert!(d < 1e-3, "{h}x{w} bin ({ky},{kx}) off by {d}");
                }
            }
            let mut back = vec![0f32; h * w];
            assert!(real.inverse(&mut half, &mut back).is_ok());
            for (a, b) in x.iter().zip(&back) {
                assert!((a - b / (h * w) as f32).abs() < 1e-4, "{a} vs {b}");
            }
        }
        assert!(RealFft2::new(4, 5).is_none());
    }

    #[test]
    fn rectangular_forward_matches_direct_dft() {
        let (h, w) = (6, 10);
        let x: Vec<Complex32> = (0..h * w)
            .map(|i| Complex32::new(((i * 29) % 13) as f32 - 6.0, ((i * 7) % 5) as f32))
            .collect();
        let mut f = Fft2::rect(h, w);
        let mut y = x.clone();
        f.forward(&mut y);
        for (ky, kx) in [(0, 0), (1, 3), (5, 9), (3, 7)] {
            let mut acc = Complex32::new(0.0, 0.0);
            for r in 0..h {
                for c in 0..w {
                    let turns = (ky * r) as f32 / h as f32 + (kx * c) as f32 / w as f32;
                    acc += x[r * w + c]
                        * Complex32::from_polar(1.0, -2.0 * std::f32::consts::PI * turns);
                }
            }
            assert!((acc - y[ky * w + kx]).norm() < 1e-3, "bin ({ky},{kx})");
        }
        f.inverse(&mut y);
        for (a, b) in x.iter().zip(&y) {
            assert!((*a - *b / (h * w) as f32).norm() < 1e-4);
        }
    }
}
