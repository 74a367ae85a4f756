//! Divan benchmarks: embed and detect at 0.25, 1, 4 and 16 megapixels, next to decoding the
//! same picture from an in-memory JPEG (quality 90) as the baseline of the same run, and the
//! scanner's rate on a small WebDataset shard.
//!
//! `cargo bench -p inkseal-benches --bench sizes`
//!
//! Throughput is in pixels (`item/s`): 1 Mitem/s is 1,000 ms per megapixel; for the scan it is
//! in samples. The picture is `testdata/coffee.png` resized to each size. Embedding runs on
//! the rayon pool (all cores unless `RAYON_NUM_THREADS` says otherwise); detecting one image
//! uses one thread.

use std::sync::OnceLock;

use divan::Bencher;
use divan::counter::ItemsCount;
use image::RgbImage;
use inkseal_mark::{
    DetectConfig, Detector, EmbedConfig, Embedder, ImageMut, ImageRef, Key, PixelLayout, WorkId,
};

const SIZES: [f64; 4] = [0.25, 1.0, 4.0, 16.0];

fn main() {
    divan::main();
}

/// `testdata/coffee.png` resized to about `mp` megapixels.
fn picture(mp: f64) -> RgbImage {
    static SOURCE: OnceLock<RgbImage> = OnceLock::new();
    let src = SOURCE.get_or_init(|| {
        let path = inkseal_benches::testdata_dir().join("coffee.png");
        match image::open(&path) {
            Ok(img) => img.to_rgb8(),
            Err(e) => panic!("{}: {e}", path.display()),
        }
    });
    let s = (mp * 1e6 / (src.width() as f64 * src.height() as f64)).sqrt();
    let (w, h) = (
        (src.width() as f64 * s).round() as u32,
        (src.height() as f64 * s).round() as u32,
    );
    image::imageops::resize(src, w, h, image::imageops::FilterType::Triangle)
}

fn marked(mp: f64) -> RgbImage {
    let mut img = picture(mp);
    let (w, h) = img.dimensions();
    let mut embedder = engine();
    let image = ImageMut::new(&mut img, w, h, PixelLayout::Rgb8).unwrap_or_else(|e| panic!("{e}"));
    embedder
        .embed(image, WorkId(7))
        .unwrap_or_else(|e| panic!("{e}"));
    img
}

fn engine() -> Embedder {
    Embedder::new(
        &Key::public(),
        EmbedConfig::default().with_target_quality(None),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn pixels(img: &RgbImage) -> ItemsCount {
    ItemsCount::new(img.width() as usize * img.height() as usize)
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn decode_jpeg(bencher: Bencher, mp: f64) {
    let img = picture(mp);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&img)
        .unwrap_or_else(|e| panic!("{e}"));
    bencher
        .counter(pixels(&img))
        .bench_local(|| image::load_from_memory(&jpeg).map(|i| i.to_rgb8()));
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn embed(bencher: Bencher, mp: f64) {
    let img = picture(mp);
    let (w, h) = img.dimensions();
    let mut embedder = engine();
    bencher
        .counter(pixels(&img))
        .with_inputs(|| img.as_raw().clone())
        .bench_local_refs(|buf| {
            let image =
                ImageMut::new(buf, w, h, PixelLayout::Rgb8).map(|i| embedder.embed(i, WorkId(7)));
            assert!(matches!(image, Ok(Ok(_))));
        });
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn detect(bencher: Bencher, mp: f64) {
    let img = marked(mp);
    let (w, h) = img.dimensions();
    let mut detector =
        Detector::new(&Key::public(), DetectConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    bencher.counter(pixels(&img)).bench_local(|| {
        let found = ImageRef::new(&img, w, h, PixelLayout::Rgb8).map(|i| detector.detect(i));
        assert!(matches!(found, Ok(Ok(ref d)) if d.detected));
    });
}

/// A 64-sample WebDataset shard of 512-px JPEGs (half of them marked), scanned on all cores.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn scan_shard(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let shard = dir.path().join("shard.tar");
    let mut builder = tar::Builder::new(Vec::new());
    let small = picture(0.2);
    let marked_small = marked(0.2);
    for i in 0..64usize {
        let img = if i % 2 == 0 { &marked_small } else { &small };
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(img)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut header = tar::Header::new_gnu();
        header.set_size(jpeg.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, format!("{i:06}.jpg"), jpeg.as_slice())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let bytes = builder.into_inner().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&shard, bytes).unwrap_or_else(|e| panic!("{e}"));
    let scanner = inkseal_scan::Scanner::new(&Key::public(), inkseal_scan::ScanConfig::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let input = inkseal_scan::Input::from_path(&shard).unwrap_or_else(|e| panic!("{e}"));
    bencher.counter(ItemsCount::new(64usize)).bench_local(|| {
        let summary = scanner.scan(std::slice::from_ref(&input), |_| {});
        assert!(matches!(summary, Ok(ref s) if s.detected == 32 && s.samples == 64));
    });
}
