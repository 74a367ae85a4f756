//! mask (in progress).
