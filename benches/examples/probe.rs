//! Marks one test image, applies attacks and prints what the detector found, for looking
//! into a single case of the robustness table.
//!
//! `cargo run --release -p inkseal-benches --example probe -- IMAGE ATTACK...`
//! (IMAGE is a file name in `testdata/` or `INKSEAL_BENCH_DIR`; attacks by table name).

use inkseal_benches::attacks::Attack;
use inkseal_benches::{rgb_view, testdata_images};
use inkseal_mark::{
    DetectConfig, Detector, EmbedConfig, Embedder, ImageMut, Key, PixelLayout, WorkId,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((name, attacks)) = args.split_first() else {
        return Err("usage: probe IMAGE ATTACK...".into());
    };
    let images = testdata_images(std::slice::from_ref(name));
    let Some((_, original)) = images.first() else {
        return Err(format!("no test image named {name}").into());
    };
    let key = Key::public();
    let id = WorkId(0x1234_5678_9abc_def0);
    let mut marked = original.clone();
    let (w, h) = marked.dimensions();
    Embedder::new(&key, EmbedConfig::default())?
        .embed(ImageMut::new(&mut marked, w, h, PixelLayout::Rgb8)?, id)?;
    let mut det = Detector::new(&key, DetectConfig::default())?;
    for a in attacks {
        let attack = Attack::by_name(a).ok_or_else(|| format!("no attack named {a}"))?;
        for (label, img) in [("marked", &marked), ("unmarked", original)] {
            let attacked = attack.apply(img, 1);
            let d = det.detect(rgb_view(&attacked)?)?;
            println!(
                "{a} {label} {}x{}: detected {} id {:?} (right: {}) p {:.2e} sync_z {:.2} bits {:.3}",
                attacked.width(),
                attacked.height(),
                d.detected,
                d.work_id,
                d.work_id == Some(id),
                d.p_value,
                d.sync_z,
                d.bit_agreement
            );
            if let Some(g) = &d.geometry {
                println!("  geometry {g:?}");
            }
            if let Some(m) = &d.tile_map {
                for row in m.grid() {
                    println!("  {row}");
                }
            }
        }
    }
    Ok(())
}
