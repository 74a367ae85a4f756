//! Development probe: marks every image given and prints quality and detection figures,
//! including after a few quick attacks. `cargo run --release -p inkseal-mark --example probe -- testdata/*`
use inkseal_mark::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = Key::public();
    let strength: f32 = std::env::var("S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let mut emb = Embedder::new(&key, EmbedConfig::default().with_strength(strength))?;
    let mut det = Detector::new(&key, DetectConfig::default())?;
    for (i, path) in std::env::args().skip(1).enumerate() {
        let img = image::open(&path)?.to_rgb8();
        let (w, h) = img.dimensions();
        let orig = img.clone().into_raw();
        let mut px = orig.clone();
        let id = WorkId(0x1234_5678_9abc_def0 ^ (i as u64 * 0x9e37_79b9_7f4a_7c15));
        let rep = emb.embed(ImageMut::new(&mut px, w, h, PixelLayout::Rgb8)?, id)?;
        let marked = image::RgbImage::from_raw(w, h, px.clone()).ok_or("size")?;
        let unmarked = image::RgbImage::from_raw(w, h, orig.clone()).ok_or("size")?;
        if let Ok(dir) = std::env::var("OUT") {
            let stem = std::path::Path::new(&path)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("x")
                .to_string();
            marked.save(format!("{dir}/{stem}_marked.png"))?;
            let diff = image::RgbImage::from_fn(w, h, |x, y| {
                let (a, b) = (marked.get_pixel(x, y), unmarked.get_pixel(x, y));
                image::Rgb(
                    [0, 1, 2].map(|c| (128 + 10 * (a[c] as i32 - b[c] as i32)).clamp(0, 255) as u8),
                )
            });
            diff.save(format!("{dir}/{stem}_diff10.png"))?;
        }
        let mut line = format!("{:<45} psnr {:5.1} ", path, rep.psnr_db);
        let attacks: Vec<(&str, Box<dyn Fn(&image::RgbImage) -> image::RgbImage>)> = vec![
            ("none", Box::new(|m: &image::RgbImage| m.clone())),
            ("jpeg50", Box::new(|m: &image::RgbImage| jpeg(m, 50))),
            ("jpeg30", Box::new(|m: &image::RgbImage| jpeg(m, 30))),
            (
                "half",
                Box::new(|m: &image::RgbImage| {
                    image::imageops::resize(
                        m,
                        m.width() / 2,
                        m.height() / 2,
                        image::imageops::FilterType::Lanczos3,
                    )
                }),
            ),
            (
                "blur2",
                Box::new(|m: &image::RgbImage| image::imageops::blur(m, 2.0)),
            ),
        ];
        for (name, f) in &attacks {
            let a = f(&marked);
            let d = det.detect(ImageRef::new(
                a.as_raw(),
                a.width(),
                a.height(),
                PixelLayout::Rgb8,
            )?)?;
            let u = f(&unmarked);
            let du = det.detect(ImageRef::new(
                u.as_raw(),
                u.width(),
                u.height(),
                PixelLayout::Rgb8,
            )?)?;
            let ok = d.work_id == Some(id);
            line += &format!(
                "| {name} {} z{:4.1} p{:.0e} ba{:.2} u:z{:3.1}{} ",
                if ok { "OK" } else { "--" },
                d.sync_z,
                d.p_value,
                d.bit_agreement,
                du.sync_z,
                if du.detected { "FP!" } else { "" }
            );
        }
        println!("{line}");
    }
    Ok(())
}

fn jpeg(img: &image::RgbImage, q: u8) -> image::RgbImage {
    let mut buf = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, q);
    img.write_with_encoder(enc).ok();
    image::load_from_memory(&buf)
        .map(|i| i.to_rgb8())
        .unwrap_or_else(|_| img.clone())
}
