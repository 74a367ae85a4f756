//! Peak memory of embedding a large image, against the size of its decoded RGB buffer.
//!
//! `cargo bench -p inkseal-benches --bench embed_memory` (Linux: reads /proc/self/status)
//!
//! For each size (`INKSEAL_BENCH_MP`, default 16 and 4 megapixels) a child process makes the
//! RGB buffer (`testdata/coffee.png` resized), resets its resident-set high-water mark
//! (`/proc/self/clear_refs`), embeds a mark and reports the new high-water mark: the peak of
//! the whole process while embedding, the buffer itself included.

use std::process::Command;

use inkseal_mark::{EmbedConfig, Embedder, ImageMut, Key, PixelLayout, WorkId};

const CHILD_ENV: &str = "INKSEAL_BENCH_EMBED_MEMORY_CHILD";

fn status_kb(field: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no {field} in /proc/self/status"))
}

fn child(mp: f64) -> Result<(), String> {
    let path = inkseal_benches::testdata_dir().join("coffee.png");
    let src = image::open(&path).map_err(|e| e.to_string())?.to_rgb8();
    let s = (mp * 1e6 / (src.width() as f64 * src.height() as f64)).sqrt();
    let (w, h) = (
        (src.width() as f64 * s).round() as u32,
        (src.height() as f64 * s).round() as u32,
    );
    let mut img = image::imageops::resize(&src, w, h, image::imageops::FilterType::Triangle);
    drop(src);
    let mut embedder = Embedder::new(
        &Key::public(),
        EmbedConfig::default().with_target_quality(None),
    )
    .map_err(|e| e.to_string())?;
    // "5" resets the high-water mark to the current resident set.
    std::fs::write("/proc/self/clear_refs", "5").map_err(|e| format!("clear_refs: {e}"))?;
    let before = status_kb("VmRSS:")?;
    let image = ImageMut::new(&mut img, w, h, PixelLayout::Rgb8).map_err(|e| e.to_string())?;
    let report = embedder
        .embed(image, WorkId(7))
        .map_err(|e| e.to_string())?;
    let peak = status_kb("VmHWM:")?;
    println!("{w} {h} {before} {peak} {:.2}", report.psnr_db);
    Ok(())
}

fn main() -> Result<(), String> {
    if let Ok(mp) = std::env::var(CHILD_ENV) {
        return child(mp.parse().map_err(|_| "bad size")?);
    }
    let sizes: Vec<f64> = inkseal_benches::env_list("INKSEAL_BENCH_MP")
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![16.0, 4.0]
    } else {
        sizes
    };
    println!("# Peak memory while embedding (child process per size)");
    println!(
        "| size | RGB buffer MiB | RSS before embed MiB | peak RSS while embedding MiB | peak / buffer | PSNR dB |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    for mp in sizes {
        let out = Command::new(&exe)
            .env(CHILD_ENV, mp.to_string())
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let f: Vec<f64> = text
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        let [w, h, before, peak, psnr] = f[..] else {
            return Err(format!("unexpected child output {text:?}"));
        };
        let buffer = w * h * 3.0 / (1 << 20) as f64;
        let mib = |kb: f64| kb / 1024.0;
        println!(
            "| {w}x{h} ({:.1} MP) | {buffer:.1} | {:.1} | {:.1} | {:.2} | {psnr:.2} |",
            w * h / 1e6,
            mib(before),
            mib(peak),
            mib(peak) / buffer
        );
    }
    Ok(())
}
