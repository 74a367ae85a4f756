//! How much a robustness result depends on the work ID: marks one test image with N different
//! IDs, applies each attack and counts exact recoveries, with the embedding's PSNR and quality
//! gain. A row of the robustness table is one ID; this shows how thin its margin is.
//!
//! `cargo run --release -p inkseal-benches --example margin -- IMAGE N ATTACK...`
//! (IMAGE is a file name in `testdata/` or `INKSEAL_BENCH_DIR`; attacks by table name).

use inkseal_benches::attacks::Attack;
use inkseal_benches::{rgb_view, testdata_images};
use inkseal_mark::{
    DetectConfig, Detector, EmbedConfig, Embedder, ImageMut, Key, PixelLayout, WorkId,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, n, attacks @ ..] = args.as_slice() else {
        return Err("usage: margin IMAGE N ATTACK...".into());
    };
    let n: u64 = n.parse()?;
    let images = testdata_images(std::slice::from_ref(name));
    let Some((_, original)) = images.first() else {
        return Err(format!("no test image named {name}").into());
    };
    let key = Key::public();
    let mut emb = Embedder::new(&key, EmbedConfig::default())?;
    let mut det = Detector::new(&key, DetectConfig::default())?;
    let attacks = attacks
        .iter()
        .map(|a| Attack::by_name(a).ok_or_else(|| format!("no attack named {a}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut found = vec![0u64; attacks.len()];
    let mut bits = vec![0f64; attacks.len()];
    let (mut psnr, mut gain) = (0f64, 0f64);
    for k in 0..n {
        // Spread IDs over the whole 64-bit range (a fixed odd multiplier).
        let id = WorkId((k + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut marked = original.clone();
        let (w, h) = marked.dimensions();
        let report = emb.embed(ImageMut::new(&mut marked, w, h, PixelLayout::Rgb8)?, id)?;
        psnr += report.psnr_db;
        gain += report.quality_gain;
        for (i, attack) in attacks.iter().enumerate() {
            let a = attack.apply(&marked, 7);
            let d = det.detect(rgb_view(&a)?)?;
            found[i] += u64::from(d.detected && d.work_id == Some(id));
            bits[i] += d.bit_agreement;
        }
    }
    println!(
        "{name}: {n} IDs, mean PSNR {:.2} dB, mean quality gain {:.3}",
        psnr / n as f64,
        gain / n as f64
    );
    for (i, a) in args[2..].iter().enumerate() {
        println!(
            "  {a}: {}/{n} exact, mean bits {:.3}",
            found[i],
            bits[i] / n as f64
        );
    }
    Ok(())
}
