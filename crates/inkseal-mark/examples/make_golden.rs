//! Writes a golden vector of the mark's format (run when the embedder changes, to add one):
//! a small marked image and, on stdout, its detection, for `tests/golden.rs`.
//!
//! `cargo run --release -p inkseal-mark --example make_golden -- OUT.png`

use inkseal_mark::{
    DetectConfig, Detector, EmbedConfig, Embedder, ImageMut, ImageRef, Key, PixelLayout, WorkId,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: make_golden OUT.png")?;
    let src = image::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/coffee.png"
    ))?
    .to_rgb8();
    let mut img = image::imageops::resize(&src, 240, 160, image::imageops::FilterType::Lanczos3);
    let id = WorkId(0x0123_4567_89ab_cdef);
    let key = Key::public();
    let (w, h) = img.dimensions();
    Embedder::new(&key, EmbedConfig::default())?
        .embed(ImageMut::new(&mut img, w, h, PixelLayout::Rgb8)?, id)?;
    img.save(&out)?;
    let back = image::open(&out)?.to_rgb8();
    let mut det = Detector::new(&key, DetectConfig::default())?;
    let d = det.detect(ImageRef::new(back.as_raw(), w, h, PixelLayout::Rgb8)?)?;
    let v = det.verify(ImageRef::new(back.as_raw(), w, h, PixelLayout::Rgb8)?, id)?;
    println!("key id {}", key.id());
    println!("{d:?}");
    println!("{v:?}");
    Ok(())
}
