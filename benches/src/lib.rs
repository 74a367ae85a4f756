//! Attacks and quality metrics for inkseal's benchmarks (in progress).
