//! Null calibration in small: about 1,000 searches of unmarked images with random keys must give
//! no detection and p-values that are uniform or conservative, never anti-conservative. The
//! full run (100,000 trials over every attack and the held-out images) is the calibration
//! benchmark: `cargo bench -p inkseal-benches --bench calibration`.

use std::path::PathBuf;

use image::RgbImage;
use image::imageops::{self, FilterType};
use inkseal_mark::{Analysis, DetectConfig, Detector, ImageRef, Key, PixelLayout};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Random keys per image and distortion: 7 images x 4 versions x 40 keys = 1,120 trials.
const KEYS: usize = 40;

fn testdata() -> Vec<(String, RgbImage)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    let mut out = Vec::new();
    for p in entries {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ["png", "jpg"].contains(&ext)
            && let Ok(img) = image::open(&p)
        {
            let name = p
                .file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into());
            out.push((name, img.to_rgb8()));
        }
    }
    assert!(out.len() >= 7, "test images missing from {}", dir.display());
    out
}

/// The image and three simple distortions of it: half size, a centre crop keeping 9/16 of the
/// area, and a mirror image.
fn versions(img: &RgbImage) -> Vec<(&'static str, RgbImage)> {
    let (w, h) = img.dimensions();
    vec![
        ("original", img.clone()),
        (
            "down2",
            imageops::resize(img, w / 2, h / 2, FilterType::Triangle),
        ),
        (
            "crop",
            imageops::crop_imm(img, w / 8, h / 8, w * 3 / 4, h * 3 / 4).to_image(),
        ),
        ("flip", imageops::flip_horizontal(img)),
    ]
}

/// One-sided Kolmogorov-Smirnov statistic D+ = max(F_emp(p) - p) of sorted p-values: how far
/// they are anti-conservative (too many small values).
fn ks_excess(sorted: &[f64]) -> f64 {
    let n = sorted.len() as f64;
    sorted
        .iter()
        .enumerate()
        .map(|(i, &v)| (i + 1) as f64 / n - v)
        .fold(0.0, f64::max)
}

#[test]
fn unmarked_and_distorted_images_are_never_detected_and_p_values_are_not_anti_conservative()
-> TestResult {
    let config = DetectConfig::default();
    let mut rng = ChaCha20Rng::seed_from_u64(20_261_130);
    let mut detectors = (0..KEYS)
        .map(|_| Detector::new(&Key::generate(&mut rng), config.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut p = Vec::new();
    for (name, img) in testdata() {
        for (distortion, version) in versions(&img) {
            let (w, h) = version.dimensions();
            // The analysis does not depend on the key: once per image, then every key.
            let analysis = Analysis::new(
                ImageRef::new(version.as_raw(), w, h, PixelLayout::Rgb8)?,
                &config,
            )?;
            for det in &mut detectors {
                let d = det.detect_analysis(&analysis);
                assert!(
                    !d.detected && d.p_value > config.threshold,
                    "{name} ({distortion}, {w}x{h}): false positive, p = {:e}",
                    d.p_value
                );
                assert!(
                    d.note.is_none(),
                    "{name} ({distortion}, {w}x{h}): not searched: {:?}",
                    d.note
                );
                assert!(
                    d.p_value > 0.0 && d.p_value <= 1.0,
                    "{name} ({distortion}): p = {}",
                    d.p_value
                );
                p.push(d.p_value);
            }
        }
    }
    p.sort_by(f64::total_cmp);
    let n = p.len() as f64;
    assert!(n >= 1000.0, "only {n} trials");

    // Never anti-conservative: one-sided KS critical value at the 0.1% level, 1.86 / sqrt(n).
    // (Searches of one image with different keys are independent given the image, so this is
    // the right reference as long as each image's p-values are uniform or conservative.)
    let excess = ks_excess(&p);
    assert!(
        excess < 1.86 / n.sqrt(),
        "KS D+ {excess:.4} over {n} p-values: too many small p-values"
    );

    // Not a detector that never finds anything: p-values still spread over (0, 1), with about
    // a tenth at or below 0.1.
    let share = p.partition_point(|&v| v <= 0.1) as f64 / n;
    assert!(
        (0.03..=0.2).contains(&share),
        "share of p <= 0.1 is {share:.3} over {n} p-values"
    );
    Ok(())
}
