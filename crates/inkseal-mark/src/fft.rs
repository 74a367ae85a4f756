//! fft (in progress).
