//! tile (in progress).
