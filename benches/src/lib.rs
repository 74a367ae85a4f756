//! Attacks and quality metrics for inkseal's benchmarks and robustness tests.
#![deny(missing_docs)]

pub mod attacks;
pub mod quality;

use std::path::{Path, PathBuf};

use image::RgbImage;

/// A comma-separated list from the environment variable `var` (empty when unset).
pub fn env_list(var: &str) -> Vec<String> {
    std::env::var(var)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// A view of an RGB image for the detector and embedder.
pub fn rgb_view(img: &RgbImage) -> inkseal_mark::Result<inkseal_mark::ImageRef<'_>> {
    inkseal_mark::ImageRef::new(
        img.as_raw(),
        img.width(),
        img.height(),
        inkseal_mark::PixelLayout::Rgb8,
    )
}

/// The median of `xs` (the mean of the two middle values for an even count; NaN when empty).
pub fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[mid]
    } else {
        (xs[mid - 1] + xs[mid]) / 2.0
    }
}

/// The workspace root (cargo runs benchmarks in the package folder, so relative folders given
/// in the environment are taken from here).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The workspace's `testdata/` folder, or the folder named by `INKSEAL_BENCH_DIR` (to run the
/// benchmarks on a held-out image set).
/// A relative `INKSEAL_BENCH_DIR` is taken from the workspace root.
pub fn testdata_dir() -> PathBuf {
    let root = workspace_root();
    match std::env::var_os("INKSEAL_BENCH_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("testdata"),
    }
}

/// Every PNG and JPEG in `testdata/`, sorted by file name, as RGB. `only` restricts to the
/// named files (by file name) when not empty.
pub fn testdata_images(only: &[String]) -> Vec<(String, RgbImage)> {
    images_in(&testdata_dir(), only)
}

/// Every PNG and JPEG in `dir` (not its subfolders), sorted by file name, as RGB. `only`
/// restricts to the named files (by file name) when not empty.
pub fn images_in(dir: &Path, only: &[String]) -> Vec<(String, RgbImage)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let ext = p.extension()?.to_str()?.to_ascii_lowercase();
            if !["png", "jpg", "jpeg"].contains(&ext.as_str()) {
                return None;
            }
            if !only.is_empty() && !only.contains(&name) {
                return None;
            }
            Some((name, image::open(&p).ok()?.to_rgb8()))
        })
        .collect()
}
