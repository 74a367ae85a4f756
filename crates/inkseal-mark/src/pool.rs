//! Reusable working buffers, one small pool per thread.
//!
//! Detection allocates about a dozen planes of the analysis size per image (7 MB for a
//! 0.25-MP photo). Freshly allocated memory is paged in by the kernel on first touch, and the
//! allocator hands freed planes back to the kernel, so every image paid those page faults
//! again: about a fifth of the time of detecting a small image. Planes taken from here and
//! given back are reused by the next image on the same thread instead. A pool keeps at most
//! [`MAX_BUFFERS`] buffers and [`MAX_BYTES`] bytes; anything beyond is freed as usual.

use std::cell::RefCell;

use ndarray::Array2;
use rustfft::num_complex::Complex32;

/// Most buffers a thread keeps.
const MAX_BUFFERS: usize = 16;
/// Most bytes a thread keeps.
const MAX_BYTES: usize = 32 << 20;

thread_local! {
    static F32: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
    static F64: RefCell<Vec<Vec<f64>>> = const { RefCell::new(Vec::new()) };
    static C32: RefCell<Vec<Vec<Complex32>>> = const { RefCell::new(Vec::new()) };
}

/// Element types with a pool.
pub(crate) trait Pooled: Copy + Default + 'static {
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> R;
}

impl Pooled for f32 {
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<f32>>) -> R) -> R {
        F32.with_borrow_mut(f)
    }
}

impl Pooled for f64 {
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<f64>>) -> R) -> R {
        F64.with_borrow_mut(f)
    }
}

impl Pooled for Complex32 {
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<Complex32>>) -> R) -> R {
        C32.with_borrow_mut(f)
    }
}

/// A buffer of `len` default values (zeros), from the pool when it holds any buffer.
pub(crate) fn take<T: Pooled>(len: usize) -> Vec<T> {
    match reuse(len) {
        Some(mut v) => {
            v.clear();
            v.resize(len, T::default());
            v
        }
        None => vec![T::default(); len],
    }
}

/// A buffer of `len` values left from an earlier use (zeros where it had none), for a caller
/// that writes every value: it saves clearing the buffer first.
pub(crate) fn take_any<T: Pooled>(len: usize) -> Vec<T> {
    match reuse(len) {
        Some(mut v) => {
            v.truncate(len);
            v.resize(len, T::default());
            v
        }
        None => vec![T::default(); len],
    }
}

/// A pooled buffer to hold `len` values, if the pool has any.
fn reuse<T: Pooled>(len: usize) -> Option<Vec<T>> {
    T::with_pool(|pool| {
        // The smallest buffer that holds `len` values; else the largest, which grows (so the
        // pool does not collect buffers of every size it has seen).
        let fits = pool
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= len)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        let largest = || {
            pool.iter()
                .enumerate()
                .max_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i)
        };
        fits.or_else(largest).map(|i| pool.swap_remove(i))
    })
}

/// Returns a buffer to this thread's pool (or frees it when the pool is full).
pub(crate) fn give<T: Pooled>(v: Vec<T>) {
    T::with_pool(|pool| {
        let size = |b: &Vec<T>| b.capacity() * std::mem::size_of::<T>();
        let held: usize = pool.iter().map(size).sum();
        if pool.len() < MAX_BUFFERS && held + size(&v) <= MAX_BYTES {
            pool.push(v);
        }
    });
}

/// An `h x w` plane of zeros from the pool.
pub(crate) fn zeros(h: usize, w: usize) -> Array2<f32> {
    match Array2::from_shape_vec((h, w), take(h * w)) {
        Ok(a) => a,
        // Cannot happen: the buffer has exactly h * w values.
        Err(_) => Array2::zeros((h, w)),
    }
}

/// An `h x w` plane of unspecified values from the pool ([`take_any`]), for a caller that
/// writes every value.
pub(crate) fn plane_any(h: usize, w: usize) -> Array2<f32> {
    match Array2::from_shape_vec((h, w), take_any(h * w)) {
        Ok(a) => a,
        // Cannot happen: the buffer has exactly h * w values.
        Err(_) => Array2::zeros((h, w)),
    }
}

/// Returns a plane's buffer to the pool.
pub(crate) fn give_plane(a: Array2<f32>) {
    give(a.into_raw_vec_and_offset().0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_zeroed_and_are_reused() {
        let mut v: Vec<f32> = take(1000);
        assert!(v.iter().all(|&x| x == 0.0));
        v.iter_mut().for_each(|x| *x = 7.0);
        let ptr = v.as_ptr();
        give(v);
        // A smaller request reuses the same memory, cleared.
        let w: Vec<f32> = take(600);
        assert_eq!(w.as_ptr(), ptr);
        assert_eq!(w.len(), 600);
        assert!(w.iter().all(|&x| x == 0.0));
        give(w);
        // With a second, larger buffer in the pool, a small request takes the smaller one.
        give(vec![1f32; 5000]);
        let again: Vec<f32> = take(10);
        assert_eq!(again.as_ptr(), ptr);
        // A request larger than anything pooled grows the largest buffer, zeroed.
        let big: Vec<f32> = take(8000);
        assert_eq!(big.len(), 8000);
        assert!(big.iter().all(|&x| x == 0.0));
        assert!(F32.with_borrow(|p| p.is_empty()));
    }

    #[test]
    fn the_pool_is_bounded() {
        for _ in 0..2 * MAX_BUFFERS {
            give(vec![0f64; 16]);
        }
        assert!(F64.with_borrow(|p| p.len()) <= MAX_BUFFERS);
        give(vec![0f64; MAX_BYTES / 8 + 1]);
        assert!(
            F64.with_borrow(|p| p.iter().map(|b| b.capacity() * 8).sum::<usize>()) <= MAX_BYTES
        );
    }
}
