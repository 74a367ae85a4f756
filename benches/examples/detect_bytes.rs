//! The Rust scanner on encoded images already in memory: the baseline for the Python
//! package's `detect_batch` on the same bytes (`crates/inkseal-python/bench/throughput.py`
//! runs both in one run).
//!
//! ```text
//! cargo run --release -p inkseal-benches --example detect_bytes -- SHARD [THREADS] [ROUNDS]
//! ```
//!
//! Reads every sample of `SHARD` (any scan input: a Parquet file, a tar shard, a folder)
//! into memory, builds one [`Scanner`], then times [`Scanner::detect_bytes`] over all of
//! them, `ROUNDS` times. Prints one JSON line per round.

use std::ops::ControlFlow;
use std::time::Instant;

use inkseal_mark::Key;
use inkseal_scan::{Input, ScanConfig, Scanner};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: detect_bytes SHARD [THREADS] [ROUNDS]")?;
    let threads: usize = args.next().map_or(Ok(0), |t| t.parse())?;
    let rounds: usize = args.next().map_or(Ok(1), |r| r.parse())?;
    let config = ScanConfig::default().with_threads(threads);
    let mut cells = Vec::new();
    for input in Input::from_path(std::path::Path::new(&path))?.expand() {
        let _ = input.for_each_sample(&config, &mut |sample| {
            if let Ok(sample) = sample {
                cells.push(sample.bytes);
            }
            ControlFlow::Continue(())
        });
    }
    let scanner = Scanner::new(&Key::public(), config)?;
    for _ in 0..rounds {
        let started = Instant::now();
        let results = scanner.detect_bytes(&cells);
        let seconds = started.elapsed().as_secs_f64();
        let detected = results
            .iter()
            .filter(|r| r.as_ref().is_ok_and(|d| d.detected))
            .count();
        println!(
            "{{\"images\": {}, \"detected\": {detected}, \"seconds\": {seconds}, \"images_per_second\": {}}}",
            cells.len(),
            cells.len() as f64 / seconds
        );
    }
    Ok(())
}
