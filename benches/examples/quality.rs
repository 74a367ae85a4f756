//! Quality of the mark on every image of a folder: PSNR, SSIM and SSIMULACRA2 of the marked
//! image against its original, beside the same image re-saved as JPEG q90, and exact recovery
//! under a few attacks. For quick iteration on the perceptual model; the robustness benchmark
//! has the full tables.
//!
//! `cargo run --release -p inkseal-benches --example quality -- [STRENGTH] [ATTACK...]`
//! (images from `testdata/` or `INKSEAL_BENCH_DIR`, restricted by `INKSEAL_BENCH_IMAGES`).

use inkseal_benches::attacks::{Attack, jpeg};
use inkseal_benches::quality::{psnr, ssim, ssimulacra2};
use inkseal_benches::{env_list, rgb_view, testdata_images};
use inkseal_mark::{
    DetectConfig, Detector, EmbedConfig, Embedder, ImageMut, Key, PixelLayout, WorkId,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let strength: f32 = args.first().map_or(Ok(1.0), |s| s.parse())?;
    let attacks = args
        .iter()
        .skip(1)
        .map(|a| Attack::by_name(a).ok_or_else(|| format!("no attack named {a}")))
        .collect::<Result<Vec<_>, _>>()?;
    let images = testdata_images(&env_list("INKSEAL_BENCH_IMAGES"));
    let key = Key::public();
    let target = match std::env::var("INKSEAL_TARGET").ok() {
        Some(t) if t == "none" => None,
        Some(t) => Some(t.parse()?),
        None => EmbedConfig::default().target_quality,
    };
    let mut emb = Embedder::new(
        &key,
        EmbedConfig::default()
            .with_strength(strength)
            .with_target_quality(target),
    )?;
    let mut det = Detector::new(&key, DetectConfig::default())?;
    let out = inkseal_benches::workspace_root().join("target/quality-out");
    std::fs::create_dir_all(&out)?;
    print!("| image | SSIMULACRA2 | PSNR | SSIM | q90 SSIMULACRA2 | gain |");
    for a in &attacks {
        print!(" {} |", a.name);
    }
    println!();
    let mut sums = [0f64; 4];
    let mut worst = f64::INFINITY;
    let mut found = vec![0usize; attacks.len()];
    for (i, (name, original)) in images.iter().enumerate() {
        let id = WorkId(0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i as u64 + 1));
        let mut marked = original.clone();
        let (w, h) = marked.dimensions();
        let report = emb.embed(ImageMut::new(&mut marked, w, h, PixelLayout::Rgb8)?, id)?;
        let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
        marked.save(out.join(format!("{stem}_marked.png")))?;
        let diff = image::RgbImage::from_fn(w, h, |x, y| {
            let (a, b) = (marked.get_pixel(x, y), original.get_pixel(x, y));
            image::Rgb(
                [0, 1, 2].map(|c| (128 + 10 * (a[c] as i32 - b[c] as i32)).clamp(0, 255) as u8),
            )
        });
        diff.save(out.join(format!("{stem}_diff_x10.png")))?;
        let q = [
            ssimulacra2(original, &marked),
            psnr(original, &marked),
            ssim(original, &marked),
            ssimulacra2(original, &jpeg(original, 90)),
        ];
        worst = worst.min(q[0]);
        for (s, v) in sums.iter_mut().zip(q) {
            *s += v;
        }
        print!(
            "| {name} | {:.1} | {:.2} | {:.4} | {:.1} | {:.2} |",
            q[0], q[1], q[2], q[3], report.quality_gain
        );
        for (k, a) in attacks.iter().enumerate() {
            if !a.applies_to(original) {
                print!(" n/a |");
                continue;
            }
            let d = det.detect(rgb_view(&a.apply(&marked, 7))?)?;
            let ok = d.detected && d.work_id == Some(id);
            found[k] += usize::from(ok);
            print!(" {} {:.0e} |", if ok { "ok" } else { "MISS" }, d.p_value);
        }
        println!();
    }
    let n = images.len().max(1) as f64;
    print!(
        "| **mean** (worst {worst:.1}) | **{:.1}** | {:.2} | {:.4} | {:.1} |",
        sums[0] / n,
        sums[1] / n,
        sums[2] / n,
        sums[3] / n
    );
    print!(" |");
    for f in found {
        print!(" {f}/{} |", images.len());
    }
    println!();
    Ok(())
}
