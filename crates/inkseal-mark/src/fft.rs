//! Square two-dimensional FFTs with plans made once.

use std::fmt;
use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

/// An `n x n` complex FFT, forward and inverse (unnormalised), row-major data.
#[derive(Clone)]
pub(crate) struct Fft2 {
    n: usize,
    fwd: Arc<dyn Fft<f32>>,
    inv: Arc<dyn Fft<f32>>,
    scratch: Vec<Complex32>,
    column: Vec<Complex32>,
}

impl fmt::Debug for Fft2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fft2({}x{})", self.n, self.n)
    }
}

impl Fft2 {
    pub(crate) fn new(n: usize) -> Fft2 {
        let mut planner = FftPlanner::new();
        let fwd = planner.plan_fft_forward(n);
        let inv = planner.plan_fft_inverse(n);
        let scratch_len = fwd
            .get_inplace_scratch_len()
            .max(inv.get_inplace_scratch_len());
        Fft2 {
            n,
            fwd,
            inv,
            scratch: vec![Complex32::new(0.0, 0.0); scratch_len],
            column: vec![Complex32::new(0.0, 0.0); n],
        }
    }

    pub(crate) fn n(&self) -> usize {
        self.n
    }

    /// Forward transform in place: `X[k] = sum_x x[x] e^{-2 pi i k.x / n}`.
    pub(crate) fn forward(&mut self, data: &mut [Complex32]) {
        let plan = Arc::clone(&self.fwd);
        self.run(plan.as_ref(), data);
    }

    /// Inverse transform in place, without the `1/n^2` factor.
    pub(crate) fn inverse(&mut self, data: &mut [Complex32]) {
        let plan = Arc::clone(&self.inv);
        self.run(plan.as_ref(), data);
    }

    fn run(&mut self, plan: &dyn Fft<f32>, data: &mut [Complex32]) {
        let n = self.n;
        debug_assert_eq!(data.len(), n * n);
        // Rows: rustfft transforms every consecutive chunk of length n.
        plan.process_with_scratch(data, &mut self.scratch);
        // Columns.
        for c in 0..n {
            for r in 0..n {
                self.column[r] = data[r * n + c];
            }
            plan.process_with_scratch(&mut self.column, &mut self.scratch);
            for r in 0..n {
                data[r * n + c] = self.column[r];
            }
        }
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
}
