//! A regression guard for the robustness table: the attacks this issue requires at 100%,
//! run on three contrasting test images (a photo, a flat logo, a large smooth photo), must
//! return the exact ID, and the same attacks on the unmarked originals must find nothing.
//! The full table comes from `cargo bench -p inkseal-benches --bench robustness`.

use inkseal_benches::attacks::Attack;
use inkseal_benches::testdata_images;
use inkseal_mark::{
    DetectConfig, Detector, EmbedConfig, Embedder, ImageMut, ImageRef, Key, PixelLayout, WorkId,
};

const IMAGES: [&str; 3] = ["coffee.png", "skimage_logo.png", "retina.jpg"];
const ATTACKS: [&str; 10] = [
    "none", "jpeg50", "webp80", "down0.5", "up2", "blur1", "noise5", "median3", "gray", "social",
];

#[test]
fn required_attacks_keep_the_exact_id_and_never_fire_on_unmarked_images()
-> Result<(), Box<dyn std::error::Error>> {
    let key = Key::public();
    let mut emb = Embedder::new(&key, EmbedConfig::default())?;
    let mut det = Detector::new(&key, DetectConfig::default())?;
    let names: Vec<String> = IMAGES.iter().map(|s| s.to_string()).collect();
    let images = testdata_images(&names);
    assert_eq!(images.len(), IMAGES.len());
    let mut misses = Vec::new();
    for (i, (name, original)) in images.iter().enumerate() {
        let id = WorkId(0x1357_9bdf_0000_0000 + i as u64);
        let mut marked = original.clone();
        let (w, h) = marked.dimensions();
        emb.embed(ImageMut::new(&mut marked, w, h, PixelLayout::Rgb8)?, id)?;
        for attack_name in ATTACKS {
            let attack = Attack::by_name(attack_name).ok_or("unknown attack")?;
            for (img, expect) in [(&marked, Some(id)), (original, None)] {
                let a = attack.apply(img, 7);
                let d = det.detect(ImageRef::new(
                    a.as_raw(),
                    a.width(),
                    a.height(),
                    PixelLayout::Rgb8,
                )?)?;
                if d.work_id != expect || d.detected != expect.is_some() {
                    misses.push(format!(
                        "{attack_name} on {name} ({}marked): {d:?}",
                        if expect.is_some() { "" } else { "un" }
                    ));
                }
            }
        }
    }
    assert!(misses.is_empty(), "{misses:#?}");
    Ok(())
}
