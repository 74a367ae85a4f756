//! Speed benchmark: embed and detect time per megapixel on every image in `testdata/`, against
//! a baseline measured in the same run: decoding the same image from an in-memory JPEG (q90).
//!
//! `cargo bench -p inkseal-benches --bench speed`
//! Options (environment): INKSEAL_BENCH_IMAGES=a.png,b.jpg  INKSEAL_BENCH_RUNS=5 (timed runs per
//! figure, after one warm-up; the median is reported). Engines are built once and reused, as a
//! pipeline would; one thread. A second table times the detection of each image resized to
//! one megapixel, split into the key-independent analysis (whitening, the geometric search,
//! folding) and the keyed search (8 rotations and mirrors x 4,096 shifts per lattice).

use std::hint::black_box;
use std::time::Instant;

use image::RgbImage;
use inkseal_benches::{env_list, median, testdata_images};
use inkseal_mark::{
    Analysis, DetectConfig, Detector, EmbedConfig, Embedder, ImageMut, ImageRef, Key, PixelLayout,
    WorkId,
};

/// The baseline's JPEG quality.
const BASELINE_QUALITY: u8 = 90;

/// Median wall time in milliseconds of `runs` calls of `f`, after one untimed warm-up call.
/// `setup` runs before each call, outside the timed region.
fn median_ms<S, T>(runs: usize, mut setup: impl FnMut() -> S, mut f: impl FnMut(S) -> T) -> f64 {
    black_box(f(setup()));
    let times: Vec<f64> = (0..runs)
        .map(|_| {
            let input = setup();
            let start = Instant::now();
            black_box(f(input));
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median(times)
}

fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>, String> {
    let (w, h) = (
        u16::try_from(img.width()).map_err(|e| e.to_string())?,
        u16::try_from(img.height()).map_err(|e| e.to_string())?,
    );
    let mut buf = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut buf, quality);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    // Box-average each 2x2 chroma block, as libjpeg (PIL, browsers) does; the crate's
    // default takes the top-left sample.
    enc.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
    enc.encode(img.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| e.to_string())?;
    Ok(buf)
}

struct Row {
    name: String,
    megapixels: f64,
    decode: f64,
    embed: f64,
    detect: f64,
}

fn measure(
    name: &str,
    img: &RgbImage,
    runs: usize,
    embedder: &mut Embedder,
    detector: &mut Detector,
) -> Result<Row, String> {
    let (w, h) = img.dimensions();
    let megapixels = w as f64 * h as f64 / 1e6;
    let id = WorkId(0x0123_4567_89ab_cdef);

    let jpeg = encode_jpeg(img, BASELINE_QUALITY)?;
    image::load_from_memory(&jpeg).map_err(|e| format!("baseline decode: {e}"))?;
    let decode = median_ms(runs, || (), |()| image::load_from_memory(&jpeg).is_ok());

    let mut marked = img.clone();
    ImageMut::new(&mut marked, w, h, PixelLayout::Rgb8)
        .and_then(|m| embedder.embed(m, id))
        .map_err(|e| format!("embed: {e}"))?;
    let embed = median_ms(
        runs,
        || img.clone(),
        |mut buf| {
            ImageMut::new(&mut buf, w, h, PixelLayout::Rgb8)
                .and_then(|m| embedder.embed(m, id))
                .is_ok()
        },
    );

    let view =
        ImageRef::new(marked.as_raw(), w, h, PixelLayout::Rgb8).map_err(|e| e.to_string())?;
    let found = detector.detect(view).map_err(|e| format!("detect: {e}"))?;
    if found.work_id != Some(id) {
        eprintln!("warning: {name}: the timed detection did not recover the embedded ID");
    }
    let detect = median_ms(runs, || (), |()| detector.detect(view).is_ok());

    Ok(Row {
        name: name.to_string(),
        megapixels,
        decode: decode / megapixels,
        embed: embed / megapixels,
        detect: detect / megapixels,
    })
}

struct OneMp {
    name: String,
    size: (u32, u32),
    decode: f64,
    detect: f64,
    analysis: f64,
    keyed: f64,
}

/// Detection of `img` resized to one megapixel, against decoding that image.
fn one_megapixel(
    name: &str,
    img: &RgbImage,
    runs: usize,
    embedder: &mut Embedder,
    detector: &mut Detector,
) -> Result<OneMp, String> {
    let f = (1e6 / (img.width() as f64 * img.height() as f64)).sqrt();
    let (w, h) = (
        (img.width() as f64 * f).round() as u32,
        (img.height() as f64 * f).round() as u32,
    );
    let mut marked = image::imageops::resize(img, w, h, image::imageops::FilterType::Triangle);
    let id = WorkId(0x0123_4567_89ab_cdef);
    ImageMut::new(&mut marked, w, h, PixelLayout::Rgb8)
        .and_then(|m| embedder.embed(m, id))
        .map_err(|e| format!("embed: {e}"))?;
    let jpeg = encode_jpeg(&marked, BASELINE_QUALITY)?;
    let decode = median_ms(runs, || (), |()| image::load_from_memory(&jpeg).is_ok());
    let view =
        ImageRef::new(marked.as_raw(), w, h, PixelLayout::Rgb8).map_err(|e| e.to_string())?;
    if detector.detect(view).map_err(|e| e.to_string())?.work_id != Some(id) {
        eprintln!("warning: {name} at 1 MP: the timed detection did not recover the ID");
    }
    let detect = median_ms(runs, || (), |()| detector.detect(view).is_ok());
    let config = DetectConfig::default();
    let analysis = median_ms(runs, || (), |()| Analysis::new(view, &config).is_ok());
    let prepared = Analysis::new(view, &config).map_err(|e| e.to_string())?;
    let keyed = median_ms(
        runs,
        || (),
        |()| detector.detect_analysis(&prepared).detected,
    );
    Ok(OneMp {
        name: name.to_string(),
        size: (w, h),
        decode,
        detect,
        analysis,
        keyed,
    })
}

fn main() {
    let only = env_list("INKSEAL_BENCH_IMAGES");
    let runs: usize = std::env::var("INKSEAL_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5);
    let key = Key::public();
    let engines = Embedder::new(&key, EmbedConfig::default().with_target_quality(None))
        .and_then(|e| Ok((e, Detector::new(&key, DetectConfig::default())?)));
    let (mut embedder, mut detector) = match engines {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot build the engines: {e}");
            return;
        }
    };

    let mut rows = Vec::new();
    for (name, img) in testdata_images(&only) {
        match measure(&name, &img, runs, &mut embedder, &mut detector) {
            Ok(row) => rows.push(row),
            Err(e) => eprintln!("error: {name}: {e}"),
        }
    }

    println!("# inkseal speed benchmark\n");
    println!(
        "median of {runs} runs after one warm-up; one thread; engines built once. Baseline: \
         decoding the same image from an in-memory JPEG q{BASELINE_QUALITY} (4:2:0) with the \
         `image` crate.\n"
    );
    println!(
        "| image | MP | decode ms/MP | embed ms/MP | detect ms/MP | embed/decode | detect/decode |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1}× | {:.1}× |",
            r.name,
            r.megapixels,
            r.decode,
            r.embed,
            r.detect,
            r.embed / r.decode,
            r.detect / r.decode
        );
    }
    if rows.is_empty() {
        println!("\nno images measured");
        return;
    }
    let n = rows.len() as f64;
    let mean = |f: fn(&Row) -> f64| rows.iter().map(f).sum::<f64>() / n;
    let (decode, embed, detect) = (mean(|r| r.decode), mean(|r| r.embed), mean(|r| r.detect));
    println!(
        "| **mean** | {:.2} | **{:.2}** | **{:.2}** | **{:.2}** | **{:.1}×** | **{:.1}×** |\n",
        mean(|r| r.megapixels),
        decode,
        embed,
        detect,
        mean(|r| r.embed / r.decode),
        mean(|r| r.detect / r.decode)
    );
    let mut one = Vec::new();
    for (name, img) in testdata_images(&only) {
        match one_megapixel(&name, &img, runs, &mut embedder, &mut detector) {
            Ok(row) => one.push(row),
            Err(e) => eprintln!("error: {name} at 1 MP: {e}"),
        }
    }
    print_one_megapixel(&one);

    // Throughput over the whole set: images per second at the measured per-image times.
    let total = |f: fn(&Row) -> f64| rows.iter().map(|r| f(r) * r.megapixels).sum::<f64>();
    println!(
        "throughput over {} images ({:.1} MP): decode {:.1} img/s, embed {:.1} img/s, detect {:.1} img/s",
        rows.len(),
        rows.iter().map(|r| r.megapixels).sum::<f64>(),
        n * 1e3 / total(|r| r.decode),
        n * 1e3 / total(|r| r.embed),
        n * 1e3 / total(|r| r.detect)
    );
}

fn print_one_megapixel(rows: &[OneMp]) {
    if rows.is_empty() {
        return;
    }
    println!("## One megapixel, full search\n");
    println!(
        "Each image resized to 1 MP and marked; detection includes the whole geometric search. \
         analysis = whitening, lattice search and folds (independent of the key); keyed = the \
         pilot search and decoding.\n"
    );
    println!("| image | size | decode ms | detect ms | analysis ms | keyed ms | detect/decode |");
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {}x{} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1}× |",
            r.name,
            r.size.0,
            r.size.1,
            r.decode,
            r.detect,
            r.analysis,
            r.keyed,
            r.detect / r.decode
        );
    }
    let n = rows.len() as f64;
    let mean = |f: fn(&OneMp) -> f64| rows.iter().map(f).sum::<f64>() / n;
    println!(
        "| **mean** | | **{:.2}** | **{:.2}** | **{:.2}** | **{:.2}** | **{:.1}×** |\n",
        mean(|r| r.decode),
        mean(|r| r.detect),
        mean(|r| r.analysis),
        mean(|r| r.keyed),
        mean(|r| r.detect / r.decode)
    );
}
