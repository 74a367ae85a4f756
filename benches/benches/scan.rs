//! Scan benchmark: throughput and memory of `inkseal-scan` on WebDataset tar shards.
//!
//! `cargo bench -p inkseal-benches --bench scan`
//!
//! Samples are JPEGs (quality 90, long side 512 px, as img2dataset writes them) cut from the
//! `testdata/` images at random positions and sizes; half of them carry a mark. They are
//! written in img2dataset's layout (`{key}.jpg`, `{key}.txt`, `{key}.json`) to shards in a
//! temporary folder.
//!
//! - **Throughput:** a shard of `INKSEAL_BENCH_SAMPLES` (500) samples is scanned on
//!   `INKSEAL_BENCH_THREADS` (2) threads, next to merely decoding the same JPEGs from memory on
//!   the same number of threads, in the same run (median of `INKSEAL_BENCH_RUNS`, 3, runs).
//! - **Memory:** the peak resident set (VmHWM) of a child process scanning that shard, and a
//!   shard `INKSEAL_BENCH_BIG` (5,000) samples long. Streaming means the two should differ by
//!   a small constant, not by ten times the shard.
//!
//! `INKSEAL_BENCH_KEEP=DIR` writes the shards to DIR and keeps them; running this benchmark's
//! binary with `INKSEAL_BENCH_SCAN_CHILD=DIR/small.tar` then scans one shard alone (for a
//! profiler).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use image::RgbImage;
use inkseal_benches::{median, testdata_images};
use inkseal_mark::{EmbedConfig, Embedder, ImageMut, Key, PixelLayout, WorkId};
use inkseal_scan::{Input, ScanConfig, Scanner};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Distinct samples; shards repeat them.
const DISTINCT: usize = 64;
/// The child-process mode: scan this shard and print the peak RSS.
const CHILD_ENV: &str = "INKSEAL_BENCH_SCAN_CHILD";

fn env_usize(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn encode_jpeg(img: &RgbImage) -> Result<Vec<u8>, String> {
    let (w, h) = (
        u16::try_from(img.width()).map_err(|e| e.to_string())?,
        u16::try_from(img.height()).map_err(|e| e.to_string())?,
    );
    let mut buf = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut buf, 90);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    enc.encode(img.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| e.to_string())?;
    Ok(buf)
}

/// `DISTINCT` JPEG samples, even-numbered ones marked.
fn samples() -> Result<Vec<Vec<u8>>, String> {
    let sources = testdata_images(&[]);
    if sources.is_empty() {
        return Err("no images in testdata/".into());
    }
    let key = Key::public();
    let mut embedder = Embedder::new(&key, EmbedConfig::default()).map_err(|e| e.to_string())?;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    (0..DISTINCT)
        .map(|i| {
            let (_, src) = &sources[i % sources.len()];
            let (w, h) = src.dimensions();
            let (cw, ch) = (
                rng.random_range(w * 6 / 10..=w),
                rng.random_range(h * 6 / 10..=h),
            );
            let (x, y) = (rng.random_range(0..=w - cw), rng.random_range(0..=h - ch));
            let crop = image::imageops::crop_imm(src, x, y, cw, ch).to_image();
            let scale = 512.0 / cw.max(ch) as f64;
            let (tw, th) = (
                ((cw as f64 * scale).round() as u32).max(1),
                ((ch as f64 * scale).round() as u32).max(1),
            );
            let mut img =
                image::imageops::resize(&crop, tw, th, image::imageops::FilterType::Triangle);
            if i % 2 == 0 {
                embedder
                    .embed(
                        ImageMut::new(&mut img, tw, th, PixelLayout::Rgb8)
                            .map_err(|e| e.to_string())?,
                        WorkId(0x5ca0_0000 + i as u64),
                    )
                    .map_err(|e| e.to_string())?;
            }
            encode_jpeg(&img)
        })
        .collect()
}

/// Writes a shard of `n` samples (cycling through `samples`) in img2dataset's layout.
fn write_shard(path: &Path, samples: &[Vec<u8>], n: usize) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
    let mut append = |name: String, bytes: &[u8]| -> Result<(), String> {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, bytes)
            .map_err(|e| e.to_string())
    };
    for i in 0..n {
        let key = format!("{i:09}");
        append(format!("{key}.jpg"), &samples[i % samples.len()])?;
        append(format!("{key}.txt"), format!("caption {i}").as_bytes())?;
        append(
            format!("{key}.json"),
            format!("{{\"key\":\"{key}\",\"status\":\"success\"}}").as_bytes(),
        )?;
    }
    builder
        .into_inner()
        .and_then(|mut w| w.flush())
        .map_err(|e| e.to_string())
}

/// A line of /proc/self/status in kB, e.g. "VmHWM".
fn proc_status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Child mode: scans one shard and prints "samples detected rss_before_kb peak_kb".
fn child(shard: &str, threads: usize) -> Result<(), String> {
    let scanner = Scanner::new(&Key::public(), ScanConfig::default().with_threads(threads))
        .map_err(|e| e.to_string())?;
    let before = proc_status_kb("VmRSS:").unwrap_or(0);
    let input = Input::from_path(shard).map_err(|e| e.to_string())?;
    let summary = scanner.scan(&[input], |_| {}).map_err(|e| e.to_string())?;
    let peak = proc_status_kb("VmHWM:").ok_or("no VmHWM in /proc/self/status")?;
    println!("{} {} {before} {peak}", summary.samples, summary.detected);
    Ok(())
}

struct ChildRun {
    samples: u64,
    detected: u64,
    before_kb: u64,
    peak_kb: u64,
}

fn run_child(shard: &Path, threads: usize) -> Result<ChildRun, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .env(CHILD_ENV, shard)
        .env("INKSEAL_BENCH_THREADS", threads.to_string())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "child scan failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<u64> = text
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    match fields[..] {
        [samples, detected, before_kb, peak_kb] => Ok(ChildRun {
            samples,
            detected,
            before_kb,
            peak_kb,
        }),
        _ => Err(format!("unexpected child output {text:?}")),
    }
}

fn main() -> Result<(), String> {
    let threads = env_usize("INKSEAL_BENCH_THREADS", 2);
    if let Ok(shard) = std::env::var(CHILD_ENV) {
        return child(&shard, threads);
    }
    let n = env_usize("INKSEAL_BENCH_SAMPLES", 500);
    let big = env_usize("INKSEAL_BENCH_BIG", 5000);
    let runs = env_usize("INKSEAL_BENCH_RUNS", 3).max(1);

    let samples = samples()?;
    let mean_kb = samples.iter().map(Vec::len).sum::<usize>() as f64 / samples.len() as f64 / 1e3;
    let pixels: Vec<f64> = samples
        .iter()
        .filter_map(|s| image::load_from_memory(s).ok())
        .map(|i| i.width() as f64 * i.height() as f64 / 1e6)
        .collect();
    let mean_mp = pixels.iter().sum::<f64>() / pixels.len().max(1) as f64;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    // INKSEAL_BENCH_KEEP=DIR keeps the shards there (to profile a scan of them).
    let keep = std::env::var_os("INKSEAL_BENCH_KEEP").map(PathBuf::from);
    let shard_dir = keep.as_deref().unwrap_or(dir.path());
    let small: PathBuf = shard_dir.join("small.tar");
    let large: PathBuf = shard_dir.join("large.tar");
    write_shard(&small, &samples, n)?;
    write_shard(&large, &samples, big)?;
    println!(
        "# inkseal scan benchmark: {DISTINCT} distinct JPEG samples (q90, long side 512 px, mean {mean_mp:.2} MP, {mean_kb:.0} kB), half marked; {threads} threads"
    );

    // Throughput, interleaved so that both sides see the same machine load.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| e.to_string())?;
    let shard_samples: Vec<&Vec<u8>> = (0..n).map(|i| &samples[i % samples.len()]).collect();
    let scanner = Scanner::new(&Key::public(), ScanConfig::default().with_threads(threads))
        .map_err(|e| e.to_string())?;
    let input = Input::from_path(&small).map_err(|e| e.to_string())?;
    let (mut decode_rates, mut scan_rates) = (Vec::new(), Vec::new());
    let mut detected = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let decoded: usize = pool.install(|| {
            shard_samples
                .par_iter()
                .map(|s| usize::from(image::load_from_memory(s).is_ok()))
                .sum()
        });
        decode_rates.push(decoded as f64 / start.elapsed().as_secs_f64());
        let start = Instant::now();
        let summary = scanner
            .scan(std::slice::from_ref(&input), |_| {})
            .map_err(|e| e.to_string())?;
        scan_rates.push(summary.samples as f64 / start.elapsed().as_secs_f64());
        detected = summary.detected;
        if summary.samples != n as u64 || summary.errors != 0 {
            return Err(format!(
                "scan read {} samples, {} errors",
                summary.samples, summary.errors
            ));
        }
    }
    let (decode_rate, scan_rate) = (median(decode_rates), median(scan_rates));
    println!();
    println!("## Throughput ({n}-sample shard, median of {runs} runs)");
    println!("| | images/s | ms per image | |");
    println!("|---|---:|---:|---:|");
    println!(
        "| decode only (in memory) | {decode_rate:.0} | {:.2} | 1.00 |",
        1e3 / decode_rate
    );
    println!(
        "| inkseal scan (tar on disk: read, decode, detect) | {scan_rate:.0} | {:.2} | {:.2} of decode |",
        1e3 / scan_rate,
        scan_rate / decode_rate
    );
    println!(
        "detected {detected} of {n} samples ({} marked)",
        n.div_ceil(2)
    );

    // Memory: separate processes, so that each peak is its own.
    let small_run = run_child(&small, threads)?;
    let large_run = run_child(&large, threads)?;
    let mib = |kb: u64| kb as f64 / 1024.0;
    let size_mib =
        |p: &Path| std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / (1 << 20) as f64);
    println!();
    println!("## Peak memory (child process per shard, {threads} threads)");
    println!(
        "| shard | samples | detected | shard size MiB | RSS before scan MiB | peak RSS MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, path, run) in [("small", &small, &small_run), ("large", &large, &large_run)] {
        println!(
            "| {name} | {} | {} | {:.1} | {:.1} | {:.1} |",
            run.samples,
            run.detected,
            size_mib(path),
            mib(run.before_kb),
            mib(run.peak_kb)
        );
    }
    println!(
        "peak RSS, large / small: {:.2} (+{:.1} MiB) for a shard {:.1}x as long",
        large_run.peak_kb as f64 / small_run.peak_kb as f64,
        mib(large_run.peak_kb.saturating_sub(small_run.peak_kb)),
        big as f64 / n as f64
    );
    Ok(())
}
