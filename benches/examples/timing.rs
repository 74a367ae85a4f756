//! inkseal's side of `benches/compare/speed.py`: times the library's embed and full detection
//! on image files, decoding apart, and prints one JSON object per file.
//!
//! `cargo run --release -p inkseal-benches --example timing -- [--runs N] FILE...`
//!
//! Each file is decoded once (timed on its own, as `decode_ms`); then the median of N
//! embeddings of a fresh copy of the pixels (the copy is outside the timed region) and of N
//! detections of the marked pixels (the full geometric search). Embedding runs on the rayon
//! pool (`RAYON_NUM_THREADS` sets its size); detection of one image uses one thread.

use std::hint::black_box;
use std::time::Instant;

use inkseal_benches::median;
use inkseal_mark::{
    DetectConfig, Detector, EmbedConfig, Embedder, ImageMut, ImageRef, Key, PixelLayout, WorkId,
};

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1).peekable();
    let mut runs = 5usize;
    let mut files = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            runs = args
                .next()
                .and_then(|n| n.parse().ok())
                .ok_or("--runs takes a number")?;
        } else {
            files.push(arg);
        }
    }
    let runs = runs.max(1);
    let key = Key::public();
    let mut embedder = Embedder::new(&key, EmbedConfig::default().with_target_quality(None))
        .map_err(|e| e.to_string())?;
    let mut detector = Detector::new(&key, DetectConfig::default()).map_err(|e| e.to_string())?;
    let id = WorkId(0x0123_4567_89ab_cdef);
    for file in files {
        let bytes = std::fs::read(&file).map_err(|e| format!("{file}: {e}"))?;
        let start = Instant::now();
        let img = image::load_from_memory(&bytes)
            .map_err(|e| format!("{file}: {e}"))?
            .to_rgb8();
        let decode_ms = start.elapsed().as_secs_f64() * 1e3;
        let (w, h) = img.dimensions();
        let mp = w as f64 * h as f64 / 1e6;

        let mut marked = img.as_raw().clone();
        let mut embed_times = Vec::with_capacity(runs);
        for run in 0..=runs {
            let mut pixels = img.as_raw().clone();
            let start = Instant::now();
            let image =
                ImageMut::new(&mut pixels, w, h, PixelLayout::Rgb8).map_err(|e| e.to_string())?;
            black_box(embedder.embed(image, id).map_err(|e| e.to_string())?);
            let t = start.elapsed().as_secs_f64() * 1e3;
            if run > 0 {
                embed_times.push(t); // run 0 warms up
            }
            marked = pixels;
        }
        let mut detect_times = Vec::with_capacity(runs);
        let mut found = false;
        for run in 0..=runs {
            let start = Instant::now();
            let image =
                ImageRef::new(&marked, w, h, PixelLayout::Rgb8).map_err(|e| e.to_string())?;
            let detection = detector.detect(image).map_err(|e| e.to_string())?;
            let t = start.elapsed().as_secs_f64() * 1e3;
            if run > 0 {
                detect_times.push(t);
            }
            found = detection.detected && detection.work_id == Some(id);
        }
        println!(
            "{{\"file\":{:?},\"width\":{w},\"height\":{h},\"mp\":{mp:.4},\"decode_ms\":{decode_ms:.3},\"embed_ms\":{:.3},\"detect_ms\":{:.3},\"found\":{found}}}",
            file,
            median(embed_times),
            median(detect_times)
        );
    }
    Ok(())
}
