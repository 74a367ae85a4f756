//! Null calibration: how often unmarked images reach each p-value, over random keys and every
//! attack of `shared/attacks.md`. For calibrated p-values the share at or below α is α.
//!
//! `cargo bench -p inkseal-benches --bench calibration`
//! Options (environment): INKSEAL_BENCH_KEYS=30 (random keys per image and attack),
//! INKSEAL_BENCH_DIR, INKSEAL_BENCH_IMAGES as for the robustness benchmark.

use inkseal_benches::attacks::ALL;
use inkseal_benches::{env_list, testdata_images};
use inkseal_mark::{DetectConfig, Detector, ImageRef, Key, PixelLayout};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn main() {
    let keys: usize = std::env::var("INKSEAL_BENCH_KEYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let images = testdata_images(&env_list("INKSEAL_BENCH_IMAGES"));
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let mut detectors: Vec<Detector> = (0..keys)
        .filter_map(|_| Detector::new(&Key::generate(&mut rng), DetectConfig::default()).ok())
        .collect();
    let mut p = Vec::new();
    let mut detections = 0;
    let mut errors = 0;
    for (i, (_, img)) in images.iter().enumerate() {
        for (k, attack) in ALL.iter().enumerate() {
            if !attack.applies_to(img) {
                continue;
            }
            let a = attack.apply(img, (i * 1000 + k) as u64);
            let Ok(view) = ImageRef::new(a.as_raw(), a.width(), a.height(), PixelLayout::Rgb8)
            else {
                errors += 1;
                continue;
            };
            for det in &mut detectors {
                match det.detect(view) {
                    Ok(d) => {
                        detections += usize::from(d.detected);
                        p.push(d.p_value);
                    }
                    Err(_) => errors += 1,
                }
            }
        }
    }
    let n = p.len() as f64;
    println!("# inkseal null calibration\n");
    println!(
        "{} unmarked images x {} attacks (where applicable) x {} random keys = {} detections; {} errors\n",
        images.len(),
        ALL.len(),
        detectors.len(),
        p.len(),
        errors
    );
    println!("| α | share of p ≤ α | expected | ratio |");
    println!("|---|---|---|---|");
    for alpha in [0.5, 0.1, 0.01, 1e-3, 1e-4] {
        let share = p.iter().filter(|&&v| v <= alpha).count() as f64 / n.max(1.0);
        println!(
            "| {alpha:e} | {share:.2e} | {alpha:.0e} | {:.2} |",
            share / alpha
        );
    }
    println!("\ndetections at the default threshold (p ≤ 1e-6): {detections}");
}
